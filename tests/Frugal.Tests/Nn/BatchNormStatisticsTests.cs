using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Tests.Nn;

public class BatchNormStatisticsTests
{
    /// <summary>After <see cref="BatchNormStatistics.Update"/> over three batches, running_mean is the average of the
    /// three per-channel batch means and running_var the average of the unbiased batch variances (PyTorch's update_bn),
    /// computed here by plain loops, whatever the statistics were before (NaN included).</summary>
    [Fact]
    public void The_running_statistics_become_the_average_of_the_batch_statistics()
    {
        var bn = new BatchNorm2d(3);
        bn.RunningMean!.CopyFrom(Tensor.Full(new Shape(3), float.NaN));
        var batches = Enumerable.Range(0, 3).Select(i => Tensor.Randn(new Shape(4, 3, 2, 5), new Generator((ulong)i + 1)) * (i + 1f)).ToList();
        Assert.Equal(3, BatchNormStatistics.Update(bn, batches));
        var mean = new double[3]; var variance = new double[3];
        foreach (var x in batches)
        {
            var v = x.ToArray();
            for (int c = 0; c < 3; c++)
            {
                var xs = Enumerable.Range(0, 4).SelectMany(n => Enumerable.Range(0, 10).Select(p => (double)v[(n * 3 + c) * 10 + p])).ToArray();
                double m = xs.Average();
                mean[c] += m / 3;
                variance[c] += xs.Sum(a => (a - m) * (a - m)) / (xs.Length - 1) / 3;
            }
        }
        Check.Close(mean.Select(a => (float)a).ToArray(), bn.RunningMean.ToArray(), 1e-5f, 1e-5f, "running_mean");
        Check.Close(variance.Select(a => (float)a).ToArray(), bn.RunningVar!.ToArray(), 1e-5f, 1e-5f, "running_var");
        Assert.Equal(0.1f, bn.Momentum);
        Assert.True(bn.Training);
    }

    /// <summary>The pass is exact: a column-row-sampled convolution in front of the batch norm computes exactly during
    /// the update (it runs in evaluation mode), so the statistics equal those behind the plain convolution it replaces,
    /// and every module's training flag is restored afterwards.</summary>
    [Fact]
    public void Sampled_layers_run_exactly_and_the_modes_are_restored()
    {
        Sequential Model(bool sampled)
        {
            var conv = new Conv2d(8, 4, 3, padding: 1, generator: new Generator(5));
            Module first = sampled ? new ApproxConv2d(conv, new ApproxSettings(new TopKSampler(), 0.5, 1), new Generator(6)) : conv;
            return new Sequential(first, new BatchNorm2d(4), new ReLU(), new Dropout(0.5f));
        }
        var batches = Enumerable.Range(0, 2).Select(i => Tensor.Randn(new Shape(3, 8, 5, 5), new Generator((ulong)i + 10))).ToList();
        var plain = Model(sampled: false);
        var approx = Model(sampled: true);
        approx[3].Eval();   // a mixed set of modes, to be restored as it was
        BatchNormStatistics.Update(plain, batches);
        BatchNormStatistics.Update(approx, batches);
        var (bp, ba) = ((BatchNorm2d)plain[1], (BatchNorm2d)approx[1]);
        Assert.Equal(bp.RunningMean!.ToArray(), ba.RunningMean!.ToArray());
        Assert.Equal(bp.RunningVar!.ToArray(), ba.RunningVar!.ToArray());
        Assert.Equal([true, true, true, false], approx.Layers.Select(m => m.Training));
        // In training mode the sampled model's statistics would differ: the update did not sample.
        var trained = Model(sampled: true);
        foreach (var x in batches) trained.Call(x);
        Assert.NotEqual(bp.RunningMean.ToArray(), ((BatchNorm2d)trained[1]).RunningMean!.ToArray());
    }

    [Fact]
    public void A_model_without_batch_norm_is_left_alone()
    {
        var lin = new Linear(3, 2);
        Assert.Equal(0, BatchNormStatistics.Update(lin, [Tensor.Randn(new Shape(2, 3), new Generator(1))]));
        Assert.True(lin.Training);
        Assert.Throws<ArgumentOutOfRangeException>(() => new BatchNorm2d(2).Momentum = 1.5f);
    }
}
