using Frugal.Methods.Approximate;
using Frugal.Ops;
using Frugal.Nn;
using Frugal.Options;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Approximate;

/// <summary>
/// Forward Top-k scored by weight norms only (score = weights; METHODS.md §2, Distributed Top-k CRS): the kept columns
/// are the k of largest ‖W[:,i]‖ whatever the input, the weight gradient is exactly zero outside them, and the paper's
/// score (activations and weights) does follow the input.
/// </summary>
public class WeightScoreTests
{
    static ApproxSettings TopK(ApproxScore score) => new(new TopKSampler(), 0.5, 1, ApproxMode.Forward, score);

    /// <summary>The input channels/features whose weight gradient is non-zero after one forward and backward.</summary>
    static int[] TouchedColumns(Module layer, Tensor weight, Tensor x)
    {
        weight.Grad = null;
        layer.Call(x).Sum().Backward();
        var gw = weight.Grad!.ToArray();
        int rows = weight.Shape[0], n = weight.Shape[1], inner = weight.Numel / (rows * n);
        return Enumerable.Range(0, n).Where(c =>
            Enumerable.Range(0, rows).Any(o => Enumerable.Range(0, inner).Any(t => gw[(o * n + c) * inner + t] != 0))).ToArray();
    }

    /// <summary>x with input channel/feature c scaled by 1000 (on axis 1).</summary>
    static Tensor Louder(Tensor x, int c)
    {
        var v = x.ToArray();
        int n = x.Shape[1], inner = x.Numel / (x.Shape[0] * n);
        for (int b = 0; b < x.Shape[0]; b++)
            for (int t = 0; t < inner; t++) v[(b * n + c) * inner + t] *= 1000;
        return Tensor.FromArray(v, x.Shape);
    }

    [Fact]
    public void Weight_scores_keep_the_same_columns_for_any_input_and_leave_zero_gradient_outside_them()
    {
        var conv = new Conv2d(12, 8, 3, padding: 1, generator: new Generator(1));
        var lin = new Linear(30, 6, generator: new Generator(2));
        var cases = new (Module Exact, Func<ApproxScore, Module> Approx, Tensor Weight, Tensor X)[]
        {
            (conv, s => new ApproxConv2d(conv, TopK(s), new Generator(3)), conv.Weight, Tensor.Randn(new Shape(2, 12, 5, 5), new Generator(4))),
            (lin, s => new ApproxLinear(lin, TopK(s), new Generator(3)), lin.Weight, Tensor.Randn(new Shape(4, 30), new Generator(5))),
        };
        foreach (var (_, approx, w, x) in cases)
        {
            var s = WeightNormTopK.Select(w, 0.5, 1);
            Assert.Equal(w.Shape[1] / 2, s.Count);
            var byNorm = WeightNormTopK.Scores(w, 1).Select((a, i) => (a, i)).OrderByDescending(p => p.a).Take(s.Count).Select(p => p.i).Order();
            Assert.Equal(byNorm, s.Indices);

            int outside = Enumerable.Range(0, w.Shape[1]).Except(s.Indices).First();
            var loud = Louder(x, outside);
            var weights = approx(ApproxScore.Weights);
            Assert.Equal(s.Indices, TouchedColumns(weights, w, x));
            Assert.Equal(s.Indices, TouchedColumns(weights, w, loud));
            // The paper's score follows the input: the loud channel is kept.
            Assert.Contains(outside, TouchedColumns(approx(ApproxScore.ActivationsAndWeights), w, loud));
        }
    }

    [Fact]
    public void Score_is_named_and_checked_by_key()
    {
        Assert.Equal(["activations_and_weights", "weights"], EnumNames<ApproxScore>.All);
        Assert.Equal(ApproxScore.Weights, new ApproxOptions { Score = ApproxScore.Weights }.Validate().Settings.Score);
        var e = Assert.Throws<OptionException>(() => new ApproxOptions { Score = ApproxScore.Weights, Mode = ApproxMode.Backward }.Validate());
        Assert.Equal("score", e.Key);
        Assert.Equal(ApproxScore.Weights, OptionsJson.Read<ApproxOptions>("""{"score": "weights"}""", "test").Score);
    }
}
