using Frugal.Autograd;
using Frugal.Data;
using Frugal.Methods.Zap;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Xunit;

namespace Frugal.Tests.Methods.Zap;

/// <summary>The ZAP predictor, its training, masks, MAC counts and the sparse-output convolution (../shared/METHODS.md §6).</summary>
public class ZapNetworkTests
{
    static (Module Model, DataLoader Data) SmallCnn(int images = 192)
    {
        var model = ModelZoo.Build("cnn", new ModelOptions(Width: 4), seed: 3);
        return (model, new DataLoader(SyntheticImages.Make(images, 10, 5), 64, shuffle: true, seed: 1));
    }

    [Fact]
    public void Predictor_keeps_the_shape_and_answers_zero_on_computed_positions()
    {
        var pattern = SpatialPattern.Get("67");
        var pred = new ZapPredictor(5, pattern, bias: true, generator: new Generator(1));
        var x = Tensor.Randn(new Shape(2, 5, 9, 9), new Generator(2)).Relu();
        var u = pred.Call(x);
        Assert.Equal(x.Shape, u.Shape);
        var us = u.ToArray();
        int nonZero = 0;
        for (int i = 0; i < us.Length; i++)
        {
            int p = i % 81;
            if (pattern.IsComputed(p / 9, p % 9)) Assert.Equal(0f, us[i]);
            else if (us[i] != 0) nonZero++;
        }
        Assert.True(nonZero > us.Length / 4, "the predictor answers nothing on the predicted positions");
        Assert.Equal(4, pred.StateDict().Count(kv => kv.Key.EndsWith(".weight")));   // two convs, two BNs
        Assert.Equal(2, pred.StateDict().Count(kv => kv.Key is "0.bias" or "2.bias"));
        Assert.DoesNotContain(new ZapPredictor(5, pattern).StateDict(), kv => kv.Key is "0.bias" or "2.bias");
    }

    [Fact]
    public void Depthwise_predictor_gradients_match_finite_differences()
    {
        var pred = new ZapPredictor(3, SpatialPattern.Get("50"), generator: new Generator(4));
        var x = Tensor.Randn(new Shape(2, 3, 6, 6), new Generator(5)).Relu();
        var target = Tensor.Uniform(x.Shape, 0, 1, new Generator(6));
        var ps = pred.Parameters().ToList();
        Tensor Loss() => pred.Call(x).Sub(target).Square().Sum();
        pred.ZeroGrad();
        Loss().Backward();
        var analytic = ps.Select(p => p.Grad!.ToArray()).ToList();
        const float eps = 1e-2f;
        for (int j = 0; j < ps.Count; j++)
        {
            var span = ps[j].Span;
            for (int i = 0; i < span.Length; i += 3)
            {
                float v = span[i];
                double plus, minus;
                using (GradMode.NoGrad()) { span[i] = v + eps; plus = Loss().Item(); span[i] = v - eps; minus = Loss().Item(); }
                span[i] = v;
                double numeric = (plus - minus) / (2 * eps);
                Assert.True(Math.Abs(numeric - analytic[j][i]) <= 2e-2 * Math.Max(1, Math.Abs(numeric)), $"param {j}[{i}]: {analytic[j][i]} vs {numeric}");
            }
        }
    }

    [Fact]
    public void Attach_counts_the_models_macs_and_picks_every_conv_relu_but_the_first()
    {
        using var zap = ZapNetwork.Attach(ModelZoo.Build("cnn"), new ZapOptions(), new Shape(1, 28, 28));
        // conv 1→32, 32→32 at 28×28; 32→64, 64→64 at 14×14; fc 3136→256, 256→10.
        Assert.Equal(9L * 32 * 784 + 288L * 32 * 784 + 288L * 64 * 196 + 576L * 64 * 196 + 3136 * 256 + 2560, zap.ModelMacsPerImage);
        Assert.Equal(["5", "9", "12"], zap.Layers.Select(l => l.Name));
        Assert.Equal(["3", "7", "10"], zap.Layers.Select(l => l.ConvName));
        Assert.Equal(288L * 32 * 784, zap.Layers[0].ConvMacsPerImage);
        Assert.Equal(18L * 32 * 784, zap.Layers[0].PredictorMacsPerImage);
        Assert.Equal("layers", Assert.Throws<Frugal.Options.OptionException>(() =>
            ZapNetwork.Attach(ModelZoo.Build("cnn"), new ZapOptions { Layers = "3" }, new Shape(1, 28, 28))).Key);
    }

    [Fact]
    public void Training_lowers_the_predictor_loss_and_the_mask_saves_macs_without_dropping_computed_positions()
    {
        var (model, data) = SmallCnn();
        using var zap = ZapNetwork.Attach(model, new ZapOptions { Layers = "all", Epochs = 4, Pattern = "50" }, new Shape(1, 28, 28), seed: 2);
        var before = zap.Snapshot();
        var history = zap.TrainPredictors(data);
        for (int l = 0; l < zap.Layers.Count; l++)
            Assert.True(history[^1][l] < 0.8 * history[0][l], $"layer {zap.Layers[l].Name}: loss {history[0][l]} → {history[^1][l]}");
        // The backbone is frozen: no parameter or BN statistic moved.
        foreach (var (k, v) in model.StateDict()) Assert.Equal(before[k].ToArray(), v.ToArray());

        var x = data.Epoch(0).First().Inputs;
        zap.SetMode(ZapMode.Capture);
        using (GradMode.NoGrad()) model.Eval().Call(x);
        zap.SetMode(ZapMode.Off);
        foreach (var l in zap.Layers)
        {
            var y = l.Captured!;
            var m = l.MaskOf(y, 1e4).ToArray();   // t far above any score, below 10⁵: every predicted position dropped
            var ys = y.ToArray();
            int plane = l.Height * l.Width;
            for (int i = 0; i < m.Length; i++)
                Assert.Equal(l.Predictor.Pattern.IsComputed(i % plane / l.Width, i % l.Width) ? 1f : 0f, m[i]);
            var m0 = l.MaskOf(y, 0.3).ToArray();
            for (int i = 0; i < m0.Length; i++)
                if (l.Predictor.Pattern.IsComputed(i % plane / l.Width, i % l.Width)) Assert.Equal(1f, m0[i]);
            Assert.Contains(0f, m0);
            Assert.True(ys.Length > 0);
        }

        zap.SetThresholds(zap.Layers.Select(_ => (double?)0.3).ToArray());
        var (acc, macs) = zap.Evaluate(new DataLoader(SyntheticImages.Make(128, 10, 9), 64, shuffle: false));
        Assert.InRange(acc, 0, 1);
        Assert.All(macs.Layers, l => Assert.InRange(l.PredictedZeroFraction, 0.05, 0.5));   // some zeros, never a computed position
        Assert.Equal(macs.GrossSavedMacs - macs.Layers.Sum(l => (double)l.PredictorMacs), macs.NetSavedMacs, 6);

        var curves = zap.MeasureCurves(data, maxBatches: 2);
        foreach (var c in curves)
            for (int k = 1; k < c.Thresholds.Length; k++)
            {
                Assert.True(c.PredictedZerosPerImage[k] >= c.PredictedZerosPerImage[k - 1]);
                Assert.True(c.Error[k] >= c.Error[k - 1] - 1e-9);
            }
        var ts = ThresholdSolver.Thresholds(curves, 0.05);
        Assert.True(ts.Select((t, l) => t is { } v ? curves[l].Error[Array.IndexOf(curves[l].Thresholds, v)] : 0).Sum() <= 0.05);
    }

    [Theory]
    [InlineData("50", 0.0)]
    [InlineData("75", 0.2)]
    [InlineData("33", -0.3)]
    public void Sparse_conv_equals_the_dense_conv_on_kept_positions_and_zero_elsewhere(string patternName, double t)
    {
        var g = new Generator(11);
        var conv = new Conv2d(3, 8, 3, padding: 1, bias: true, generator: g);
        var bn = new BatchNorm2d(8);
        var pred = new ZapPredictor(8, SpatialPattern.Get(patternName), bias: true, generator: g);
        // Non-trivial running statistics in both, from a few train-mode forwards.
        var x = Tensor.Randn(new Shape(3, 3, 10, 9), g);
        using (GradMode.NoGrad())
            for (int i = 0; i < 3; i++) { bn.Train(); var y0 = bn.Call(conv.Call(x)).Relu(); pred.Train(); pred.Call(y0); }
        bn.Eval(); pred.Eval();
        var dense = ZapSparseConv.Dense(x, conv, bn);
        var (p, _) = pred.Masks(dense);
        Tensor u;
        using (GradMode.NoGrad()) u = pred.Call(dense.Mul(p));
        var (sparse, skipped) = ZapSparseConv.Forward(x, conv, bn, pred, t);
        float[] d = dense.ToArray(), s = sparse.ToArray(), us = u.ToArray();
        int plane = 90, zeros = 0;
        for (int i = 0; i < d.Length; i++)
        {
            int q = i % plane;
            bool keep = ZapMath.Keep(us[i], pred.Pattern.IsComputed(q / 9, q % 9), t);
            if (!keep) zeros++;
            Assert.Equal(keep ? d[i] : 0f, s[i], 4);
        }
        Assert.Equal(zeros, skipped);
        Assert.True(zeros > 0, "nothing was skipped");
    }
}
