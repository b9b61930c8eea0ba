using Frugal.Methods.Compression;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>
/// The low-bit method's scale on gradients whose log2 moments the test knows: two hooked layers, 12 binades apart,
/// one with half its entries exactly zero, fed through the method's own hooks (measuring step, then one cast step).
/// The method is built by its constructor, not from TrainOptions.
/// </summary>
public class LowBitGradientsScaleTests
{
    const int Batch = 128;
    // Layer "0" ([128, 64], mean log2|g| ≈ −20, 50% zeros) and "1" ([128, 256], ≈ −8, no zeros); "2" is the classifier.
    static readonly float[] G0 = LogNormalSamples.Make(Batch * 64, -20 * Math.Log(2), 1.2, 21, zeroFraction: 0.5);
    static readonly float[] G1 = LogNormalSamples.Make(Batch * 256, -8 * Math.Log(2), 0.8, 22);

    sealed record Layer(double ScaleLog2, double Mu2, FloatFormat Format, float[] Seen);

    /// <summary>A measuring step and a cast step; the figures of each hooked layer and the gradient its backward saw on the cast step.</summary>
    static Dictionary<string, Layer> Run(string format, bool globalScale)
    {
        var model = new Sequential(new Linear(8, 64, generator: new Generator(1)), new Linear(64, 256, generator: new Generator(2)),
                                   new Linear(256, 4, generator: new Generator(3)));
        var method = new LowBitGradients(new LowBitGradientsOptions { Format = format, Scale = globalScale ? LowBitScale.Global : LowBitScale.Layer }, seed: 9);
        method.Attach(model);
        var seen = new float[2][];
        SyntheticGradients.Inject(model[0], () => Tensor.FromArray(G0, new Shape(Batch, 64)), g => seen[0] = g.ToArray());
        SyntheticGradients.Inject(model[1], () => Tensor.FromArray(G1, new Shape(Batch, 256)), g => seen[1] = g.ToArray());
        var x = Tensor.Randn(new Shape(Batch, 8), new Generator(4));
        for (int b = 0; b < 2; b++)
        {
            method.OnStep(1, b, 2);
            model.Call(x).Sum().Backward();
        }
        var figures = new Dictionary<string, object>();
        method.CollectEpochFigures(figures);
        var layers = (Dictionary<string, object>)figures["grad_format_layers"];
        Assert.Equal(["0", "1"], layers.Keys.Order());
        return layers.ToDictionary(p => p.Key, p =>
        {
            var f = (Dictionary<string, object>)p.Value;
            return new Layer((double)f["scale_log2"], (double)f["mu2"], FloatFormat.Parse((string)f["format"]), seen[int.Parse(p.Key)]);
        });
    }

    static Log2Stats Stats(float[] g) => GradientScale.Measure(g);

    /// <summary>The gradient the layer's backward saw on the cast step is the format's nearest-even cast at exactly the
    /// reported scale: the figure is the scale in use.</summary>
    static void SeenIsTheCastAt(Layer layer, float[] raw, string what)
    {
        float scale = (float)Math.Pow(2, layer.ScaleLog2);
        var expected = Tensor.FromArray(raw, new Shape(raw.Length)).QuantizeFloat(layer.Format, Rounding.NearestEven, scale).ToArray();
        Assert.True(expected.AsSpan().SequenceEqual(layer.Seen), $"{what}: the backward did not see the {layer.Format} cast at 2^{layer.ScaleLog2:F4}");
    }

    [Theory]
    [InlineData("e4m3fn")]
    [InlineData("fp6")]
    public void Per_layer_scale_centres_each_layers_log2_mean_at_minus_three(string format)
    {
        var layers = Run(format, globalScale: false);
        foreach (var (name, raw) in new[] { ("0", G0), ("1", G1) })
        {
            var s = Stats(raw);
            var l = layers[name];
            Assert.Equal(s.Mean, l.Mu2);
            // scale_log2 = −3 − μ̄₂ (GradientScale.Factor rounds 2^x to float32 once: ≤ 1e-7 in the exponent).
            Assert.Equal(-3 - s.Mean, l.ScaleLog2, 1e-6);
            SeenIsTheCastAt(l, raw, $"{format} layer {name}");
        }
        Assert.InRange(layers["0"].ScaleLog2 - layers["1"].ScaleLog2, 11.5, 12.5);   // the layers' own 12 binades apart
    }

    [Theory]
    [InlineData("e4m3fn")]
    [InlineData("fp6")]
    public void Global_scale_pools_the_layers_log2_means_weighted_by_their_non_zeros(string format)
    {
        var global = Run(format, globalScale: true);
        var perLayer = Run(format, globalScale: false);
        Log2Stats s0 = Stats(G0), s1 = Stats(G1);
        Assert.InRange((double)s0.NonZero / s0.Count, 0.45, 0.55);
        double pooled = (s0.Mean * s0.NonZero + s1.Mean * s1.NonZero) / (s0.NonZero + s1.NonZero);
        // The weighting matters here: by all entries (zeros included) or one vote per layer gives another scale.
        double byCount = (s0.Mean * s0.Count + s1.Mean * s1.Count) / (s0.Count + s1.Count), byLayer = (s0.Mean + s1.Mean) / 2;
        Assert.True(Math.Abs(pooled - byCount) > 0.5 && Math.Abs(pooled - byLayer) > 0.5, $"pooled {pooled}, by count {byCount}, by layer {byLayer}");
        foreach (var (name, raw) in new[] { ("0", G0), ("1", G1) })
        {
            var l = global[name];
            Assert.Equal(-3 - pooled, l.ScaleLog2, 1e-6);         // one scale for every layer
            Assert.Equal(Stats(raw).Mean, l.Mu2);                  // the layer's own μ̄₂ is still reported
            Assert.True(Math.Abs(l.ScaleLog2 - perLayer[name].ScaleLog2) > 1, $"layer {name}: global 2^{l.ScaleLog2:F3}, per layer 2^{perLayer[name].ScaleLog2:F3}");
            SeenIsTheCastAt(l, raw, $"{format} global, layer {name}");
        }
    }
}
