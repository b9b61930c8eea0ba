using Frugal.Methods.Compression;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>
/// The pruning method's own per-layer path on a gradient that is exactly lognormal with 40% exact zeros (as a ReLU
/// leaves): the closed-form threshold must be solved for the non-zero target s' = (s − z)/(1 − z) (METHODS.md §1).
/// A cnn's conv outputs feed BatchNorm, whose gradient has no exact zeros, so the training tests cannot see this.
/// </summary>
public class NeuralGradientPruningZeroFractionTests
{
    const int Batch = 256, Width = 1024;
    const double Target = 0.8, Zeros = 0.4, Mu = -9, Sigma = 1.5;

    /// <summary>Runs one training step of a Linear–Linear model whose hooked layer ("0") receives the synthetic
    /// gradient; returns the method's figures for that layer and the zeros of what the layer's backward saw.</summary>
    static (Dictionary<string, double> Layer, double SeenSparsity) PruneOnce(GradPruneMode mode, float[] gradient)
    {
        var model = new Sequential(new Linear(8, Width, generator: new Generator(1)), new Linear(Width, 4, generator: new Generator(2)));
        var method = new NeuralGradientPruning(new GradPruneOptions { Sparsity = Target, Mode = mode }, seed: 3);
        method.Attach(model);
        Assert.Equal(["0"], method.LayerNames);
        double seen = double.NaN;
        SyntheticGradients.Inject(model[0], () => Tensor.FromArray(gradient, new Shape(Batch, Width)),
            g => seen = (double)g.ToArray().Count(v => v == 0) / g.Numel);
        model.Call(Tensor.Randn(new Shape(Batch, 8), new Generator(4))).Sum().Backward();
        var figures = new Dictionary<string, object>();
        method.CollectEpochFigures(figures);
        var layer = (Dictionary<string, object>)((Dictionary<string, object>)figures["grad_layers"])["0"];
        return (layer.ToDictionary(p => p.Key, p => Convert.ToDouble(p.Value)), seen);
    }

    [Theory]
    [InlineData(GradPruneMode.Stochastic)]
    [InlineData(GradPruneMode.Deterministic)]
    public void Closed_form_threshold_counts_the_layers_exact_zeros(GradPruneMode mode)
    {
        bool stochastic = mode == GradPruneMode.Stochastic;
        var gradient = LogNormalSamples.Make(Batch * Width, Mu, Sigma, 7, zeroFraction: Zeros);
        double z = (double)gradient.Count(v => v == 0) / gradient.Length;
        Assert.InRange(z, Zeros - 0.01, Zeros + 0.01);

        var (layer, seen) = PruneOnce(mode, gradient);
        Assert.Equal(Target, layer["target"]);
        Assert.Equal(seen, layer["sparsity"], 12);           // the figure is what the backward really saw
        // Sampling noise of the fit (65536 entries) and of the stochastic prune: ≈ 0.2 pp.
        Assert.True(Math.Abs(layer["sparsity"] - Target) < 0.01, $"{mode}: realised sparsity {layer["sparsity"]:F4}, target {Target}");

        // The control: the same fit, solved as if the tensor had no exact zeros (z = 0), prunes a share s of the
        // non-zeros on top of the zeros, z + (1 − z)·s = 0.88: 8 pp over the target, in prediction and in fact.
        double mu = layer["mu"], sigma = layer["sigma"];
        double alpha = stochastic ? LogNormal.ThresholdForSparsity(Target, mu, sigma, 0) : LogNormal.DeterministicThreshold(Target, mu, sigma, 0);
        double a = alpha * Math.Exp(-mu);
        double predicted = z + (1 - z) * (stochastic ? LogNormal.Sparsity(a, sigma) : LogNormal.DeterministicSparsity(a, sigma));
        Assert.True(predicted - Target > 0.05, $"{mode}: uncorrected prediction {predicted:F4}");
        var g = Tensor.FromArray(gradient, new Shape(gradient.Length));
        var stats = (stochastic ? g.PruneStochastic((float)alpha, 5) : g.PruneThreshold((float)alpha)).Stats;
        double uncorrected = (double)stats.Zeros / stats.Elements;
        Assert.True(uncorrected - Target > 0.05, $"{mode}: sparsity with the uncorrected threshold {uncorrected:F4}");
        Assert.True(Math.Abs(uncorrected - predicted) < 0.01, $"{mode}: uncorrected {uncorrected:F4}, predicted {predicted:F4}");
    }
}
