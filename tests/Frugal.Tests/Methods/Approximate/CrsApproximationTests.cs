using Frugal.Methods.Approximate;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Runs;
using Frugal.Training;

namespace Frugal.Tests.Methods.Approximate;

public class CrsApproximationTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-approx-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void Default_layers_are_all_conv_and_linear_but_the_first_and_the_classifier()
    {
        Assert.Equal(["3", "7", "10", "15"], ApproxLayerSelection.Select(ModelZoo.Build("cnn"), null).Select(l => l.Name));
        Assert.Equal(["3"], ApproxLayerSelection.Select(ModelZoo.Build("mlp"), null).Select(l => l.Name));
        var resnet = ApproxLayerSelection.Select(ModelZoo.Build("resnet"), null).Select(l => l.Name).ToList();
        Assert.Equal("3.0.conv1", resnet[0]);
        Assert.Contains("4.0.downsample.0", resnet);
        Assert.DoesNotContain("0", resnet);
        Assert.DoesNotContain("7", resnet);
        Assert.Equal(6, ApproxLayerSelection.Select(ModelZoo.Build("cnn"), "all").Count);
        Assert.Equal([("3", (double?)0.25), ("15", null)], ApproxLayerSelection.Select(ModelZoo.Build("cnn"), "3=0.25, 15"));
        Assert.Contains("layers: 0, 3, 7", Assert.Throws<Frugal.Options.OptionException>(() => ApproxLayerSelection.Select(ModelZoo.Build("cnn"), "4")).Message);
        Assert.Throws<Frugal.Options.OptionException>(() => ApproxLayerSelection.Select(ModelZoo.Build("cnn"), "3=1.5"));
    }

    static double Step(Module model, CrsApproximation method, int n, int batch)
    {
        method.OnStep(1, batch, 10);
        var x = Tensor.Randn(new Shape(n, 1, 28, 28), new Generator((ulong)batch + 1));
        var loss = model.Call(x).CrossEntropy(Enumerable.Range(0, n).Select(i => i % 10).ToArray());
        loss.Backward();
        return loss.Item();
    }

    /// <summary>
    /// Would fail if the method were silently disabled: Top-k at keep 0.5 on the cnn (width 8) must run exactly half the
    /// input channels/features of layers 3, 7, 10, 15 in all three products, so approx_flops_ratio equals the count from
    /// the layer shapes; k &lt; n in every layer; the swapped model keeps its state-dict keys and evaluates exactly.
    /// </summary>
    [Fact]
    public void Flops_ratio_and_k_show_the_sampling_and_evaluation_stays_exact()
    {
        var model = ModelZoo.Build("cnn", new ModelOptions(Width: 8), seed: 1);
        var exactModel = ModelZoo.Build("cnn", new ModelOptions(Width: 8), seed: 1);
        var keys = model.StateDict().Select(p => p.Key).ToList();
        var method = new CrsApproximation(new ApproxSettings(new TopKSampler(), 0.5, 1), seed: 2);
        method.Attach(model);
        Assert.Equal(keys, model.StateDict().Select(p => p.Key));
        Assert.Equal(["3", "7", "10", "15"], method.Layers.Select(l => l.Name));
        Assert.IsType<ApproxConv2d>(((Sequential)model)[3]);
        Assert.IsType<ApproxLinear>(((Sequential)model)[15]);
        Assert.IsType<Conv2d>(((Sequential)model)[0]);

        const int n = 4;
        Step(model, method, n, 0); Step(model, method, n, 1);
        var figures = new Dictionary<string, object>();
        method.CollectEpochFigures(figures);

        // MACs per product: conv = N·H·W·Cout·Cin·9, linear = N·in·out. The stem has no dX (its input needs no gradient).
        double conv(int hw, int cout, int cin) => (double)n * hw * cout * cin * 9;
        double[] exactPer = [conv(784, 8, 1), conv(784, 8, 8), conv(196, 16, 8), conv(196, 16, 16), (double)n * 784 * 256, n * 256.0 * 10];
        double[] keptFrac = [1, 0.5, 0.5, 0.5, 0.5, 1];
        int[] passes = [2, 3, 3, 3, 3, 3];
        double exact = 0, executed = 0;
        for (int i = 0; i < 6; i++) { exact += passes[i] * exactPer[i]; executed += passes[i] * exactPer[i] * keptFrac[i]; }
        Assert.Equal(executed / exact, (double)figures["approx_flops_ratio"], 12);
        Assert.Equal(0.5, (double)figures["approx_sampled_flops_ratio"], 12);
        var layers = (Dictionary<string, object>)figures["approx_layers"];
        foreach (var (name, nIn) in new[] { ("3", 8), ("7", 8), ("10", 16), ("15", 784) })
        {
            var f = (Dictionary<string, object>)layers[name];
            Assert.Equal(nIn, f["n"]);
            Assert.Equal(nIn / 2.0, f["mean_k"]);
        }

        // Counting starts afresh each epoch; evaluation is exact (and not counted).
        model.Eval(); exactModel.Eval();
        var x = Tensor.Randn(new Shape(3, 1, 28, 28), new Generator(9));
        exactModel.LoadStateDict(model.StateDict().ToDictionary(p => p.Key, p => p.Value));
        Assert.Equal(exactModel.Call(x).ToArray(), model.Call(x).ToArray());
        figures.Clear();
        method.CollectEpochFigures(figures);
        Assert.Equal(1.0, figures["approx_flops_ratio"]);
    }

    [Fact]
    public void Backward_mode_reports_k_for_dx_and_dw()
    {
        var model = ModelZoo.Build("mlp", new ModelOptions(Hidden: [64, 48]), seed: 1);
        var method = new CrsApproximation(new ApproxSettings(new CrsSampler(), 0.5, 1, ApproxMode.Hybrid), seed: 2);
        method.Attach(model);
        Step(model, method, 16, 0);
        var figures = new Dictionary<string, object>();
        method.CollectEpochFigures(figures);
        var f = (Dictionary<string, object>)((Dictionary<string, object>)figures["approx_layers"])["3"];
        Assert.Equal(64, f["n"]); Assert.Equal(48, f["n_dx"]); Assert.Equal(16, f["n_dw"]);
        Assert.True((double)f["mean_k"] <= 32 && (double)f["mean_k_dx"] <= 24 && (double)f["mean_k_dw"] <= 8);
        Assert.True((double)figures["approx_flops_ratio"] < 1);
    }

    static readonly Frugal.Data.ImageDataset Train = SyntheticImages.Make(512, 4, 1);
    static readonly Frugal.Data.ImageDataset Test = SyntheticImages.Make(200, 4, 2);

    static TrainOptions Small(string? outDir, SamplerKind approx, int epochs = 2) => new()
    {
        Model = "mlp", ModelOptions = new ModelOptions(Hidden: [64, 64]), Epochs = epochs, BatchSize = 32,
        LearningRate = 0.05, Seed = 3, Out = outDir, Approx = new ApproxOptions { Sampler = approx, Keep = 0.5, MinK = 1 },
    };

    /// <summary>Through the Trainer: the flags switch the method on, metrics.jsonl carries its figures, the model still
    /// learns, and since sampling is a function of (seed, epoch, batch), --resume reproduces the uninterrupted run.</summary>
    [Fact]
    public void Trainer_runs_the_method_reports_it_and_resumes_exactly()
    {
        var full = Recipe.Fit(Small(Path.Combine(_dir, "full"), SamplerKind.Bernoulli), Train, Test);
        Assert.True(full[^1].TestAccuracy > 0.9, $"accuracy {full[^1].TestAccuracy}");
        Assert.True((double)full[^1].Extra!["approx_flops_ratio"] < 0.95);
        var line = File.ReadAllLines(Path.Combine(_dir, "full", "metrics.jsonl"))[0];
        Assert.Contains("\"approx_flops_ratio\"", line);
        Assert.Contains("\"approx_layers\":{\"3\":{", line);

        var killed = Path.Combine(_dir, "killed");
        Recipe.Fit(Small(killed, SamplerKind.Bernoulli, epochs: 1), Train, Test);
        var resumed = Recipe.Fit(Small(killed, SamplerKind.Bernoulli), Train, Test, resume: true);
        Assert.Equal(full[1].TrainLoss, resumed[1].TrainLoss);
        Assert.Equal(full[1].TestAccuracy, resumed[1].TestAccuracy);
    }

    /// <summary>
    /// METHODS.md §2: Bernoulli-CRS in linear regression with fixed p is, in expectation, the exact loss plus the ridge
    /// ½Σ D_i·w_i², D_i = (1 − p_i)/p_i·‖X[:,i]‖², so SGD on the sampled loss settles at (XᵀX + D)⁻¹Xᵀy, not at least
    /// squares. Averaged iterates of SGD with a small constant step sit within O(√step) of that point; the test asks for
    /// ten times closer to the ridge solution than the ridge solution is to least squares.
    /// </summary>
    [Fact]
    public void Bernoulli_crs_linear_regression_is_a_weighted_ridge()
    {
        const int n = 200, d = 4;
        var g = new Generator(1);
        var x = new double[n, d]; var y = new double[n];
        double[] scale = [1, 2, 0.5, 1.5], wTrue = [1, -2, 3, 0.5];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++) x[i, j] = scale[j] * (g.NextDouble() * 2 - 1);
            y[i] = Enumerable.Range(0, d).Sum(j => x[i, j] * wTrue[j]) + 0.1 * (g.NextDouble() - 0.5);
        }
        double[] p = [1, 0.7, 0.4, 0.9];
        var colSq = Enumerable.Range(0, d).Select(j => Enumerable.Range(0, n).Sum(i => x[i, j] * x[i, j])).ToArray();
        var penalty = SamplingMath.RidgePenalty(p, colSq);
        var xm = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfArray(x);
        var yv = MathNet.Numerics.LinearAlgebra.Vector<double>.Build.DenseOfArray(y);
        var ridge = (xm.TransposeThisAndMultiply(xm) + MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.DenseOfDiagonalArray(penalty)).Solve(xm.TransposeThisAndMultiply(yv));
        var ols = xm.TransposeThisAndMultiply(xm).Solve(xm.TransposeThisAndMultiply(yv));

        // SGD on L(w) = ½/n·‖X·diag(z/p)·w − y‖², z_i ~ Bernoulli(p_i) drawn by the sampler each step.
        var w = new double[d]; var avg = new double[d];
        const int steps = 20000;
        const double lr = 0.02;
        var rng = new Generator(2);
        for (int t = 0; t < steps; t++)
        {
            var s = BernoulliSampler.DrawWith(p, rng);
            var f = new double[d];
            for (int j = 0; j < s.Count; j++) f[s.Indices[j]] = s.Scales![j];
            var grad = new double[d];
            for (int i = 0; i < n; i++)
            {
                double r = -y[i];
                for (int j = 0; j < d; j++) r += x[i, j] * f[j] * w[j];
                for (int j = 0; j < d; j++) grad[j] += x[i, j] * f[j] * r / n;
            }
            for (int j = 0; j < d; j++) w[j] -= lr * grad[j];
            if (t >= steps / 2) for (int j = 0; j < d; j++) avg[j] += w[j] / (steps - steps / 2);
        }
        double toRidge = Math.Sqrt(Enumerable.Range(0, d).Sum(j => Math.Pow(avg[j] - ridge[j], 2)));
        double gap = (ridge - ols).L2Norm();
        Assert.True(toRidge < 0.1 * gap, $"SGD average {string.Join(", ", avg.Select(v => v.ToString("F3")))}; ridge {ridge}; least squares {ols}");
    }
}
