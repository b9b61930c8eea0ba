using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Nn;

public class NormModulesTests
{
    [Fact]
    public void Batch_norm_state_dict_has_pytorch_names_shapes_and_initial_values()
    {
        var model = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new ReLU());
        var sd = model.StateDict();
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"],
            sd.Select(p => p.Key).ToArray());
        var byKey = sd.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal([1f, 1f, 1f, 1f], byKey["1.weight"].ToArray());
        Assert.Equal([0f, 0f, 0f, 0f], byKey["1.bias"].ToArray());
        Assert.Equal([0f, 0f, 0f, 0f], byKey["1.running_mean"].ToArray());
        Assert.Equal([1f, 1f, 1f, 1f], byKey["1.running_var"].ToArray());
        Assert.Equal(new Shape(), byKey["1.num_batches_tracked"].Shape);   // PyTorch: a 0-d int64 tensor
        Assert.Equal(4, model.Parameters().Count());   // buffers are not parameters
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], new BatchNorm2d(3, affine: false).StateDict().Select(p => p.Key).ToArray());
        Assert.Equal(["weight", "bias"], new BatchNorm2d(3, trackRunningStats: false).StateDict().Select(p => p.Key).ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Batch_norm_2d_trains_with_batch_stats_and_evaluates_with_running_stats(string device)
    {
        var d = Device.Parse(device);
        var bn = new BatchNorm2d(3);
        bn.To(d);
        var x = Tensor.Randn(new Shape(4, 3, 5, 5), new Generator(1), d).Mul(3f).Add(2f);
        var yTrain = bn.Call(x);
        Assert.Equal(1f, bn.NumBatchesTracked!.Item());
        bn.Call(x);
        Assert.Equal(2f, bn.NumBatchesTracked!.Item());
        Check.Close(x.BatchNorm(null, null, null, null, training: true).ToArray(), yTrain.ToArray(), 1e-5f);
        bn.Eval();
        var yEval = bn.Call(x);
        Assert.Equal(2f, bn.NumBatchesTracked!.Item());
        Check.Close(x.BatchNorm(null, null, bn.RunningMean, bn.RunningVar, training: false).ToArray(), yEval.ToArray(), 1e-5f);
        // After two steps the running mean holds 1 − 0.9² = 19% of the batch mean.
        var batchMean = x.Permute(1, 0, 2, 3).Reshape(3, -1).Mean(1).ToArray();
        Check.Close(batchMean.Select(v => v * 0.19f).ToArray(), bn.RunningMean!.ToArray(), 1e-4f, 1e-4f);
        // Gradients reach the parameters through the module.
        bn.Train();
        var xp = Check.Param(d, 2, 2, 3, 2, 2);
        Check.Gradients(t => bn.Call(t[0]), xp, bn.Weight!, bn.Bias!);
    }

    [Fact]
    public void Batch_norm_modules_check_rank_and_channels()
    {
        var ex = Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Call(Tensor.Zeros(2, 4, 5, 5)));
        Assert.Contains("4 channels", ex.Message);
        Assert.Contains("expected 3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new BatchNorm2d(3).Call(Tensor.Zeros(2, 3, 5)));
        Assert.Contains("BatchNorm2d", ex.Message);
        Assert.Contains("[2, 3, 5]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new BatchNorm1d(3).Call(Tensor.Zeros(2, 3, 5, 5)));
        Assert.Contains("BatchNorm1d", ex.Message);
        var ok = new BatchNorm1d(3).Call(Tensor.Randn(new Shape(2, 3, 5), new Generator(1)));
        Assert.Equal(new Shape(2, 3, 5), ok.Shape);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Layer_norm_module_matches_op_and_has_pytorch_names(string device)
    {
        var d = Device.Parse(device);
        var ln = new LayerNorm([2, 5]);
        Assert.Equal(["weight", "bias"], ln.StateDict().Select(p => p.Key).ToArray());
        Assert.Equal(new Shape(2, 5), ln.Weight!.Shape);
        ln.To(d);
        var x = Check.Param(d, 3, 3, 2, 5);
        Check.Close(x.LayerNorm([2, 5]).ToArray(), ln.Call(x).ToArray(), 1e-6f);
        Check.Gradients(t => ln.Call(t[0]), x, ln.Weight!, ln.Bias!);
        Assert.Empty(new LayerNorm(4, elementwiseAffine: false).StateDict());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Dropout_module_follows_training_mode(string device)
    {
        var d = Device.Parse(device);
        var drop = new Dropout(0.5f, new Generator(9));
        var x = Tensor.Full(new Shape(40, 50), 1f, d);
        var y = drop.Call(x).ToArray();
        Assert.Contains(0f, y);
        Assert.Contains(2f, y);
        drop.Eval();
        Assert.Same(x, drop.Call(x));
        Assert.Throws<ArgumentException>(() => new Dropout(1f));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Activation_and_flatten_modules_match_their_ops(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Randn(new Shape(2, 3, 4), new Generator(4), d);
        Assert.Equal(x.LeakyRelu(0.2f).ToArray(), new LeakyReLU(0.2f).Call(x).ToArray());
        Assert.Equal(x.LeakyRelu().ToArray(), new LeakyReLU().Call(x).ToArray());
        Assert.Equal(x.Gelu().ToArray(), new GELU().Call(x).ToArray());
        Assert.Equal(x.Tanh().ToArray(), new Tanh().Call(x).ToArray());
        Assert.Equal(x.Sigmoid().ToArray(), new Sigmoid().Call(x).ToArray());
        Assert.Equal(x.Softmax(1).ToArray(), new Softmax(1).Call(x).ToArray());
        Assert.Equal(x.LogSoftmax(-1).ToArray(), new LogSoftmax(-1).Call(x).ToArray());
        Assert.Equal(new Shape(2, 12), new Flatten().Call(x).Shape);
        Assert.Equal(new Shape(6, 4), new Flatten(0, 1).Call(x).Shape);
        Assert.Equal(x.ToArray(), new Flatten().Call(x).ToArray());
        Assert.Empty(new Sequential(new Flatten(), new GELU(), new Dropout()).StateDict());
    }
}
