using Frugal.Methods.Compression;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>The per-layer scale, the log2 moments it comes from, and the measured quantisation error against
/// the error model (METHODS.md §1).</summary>
public class GradientScaleTests
{
    /// <summary>n lognormal magnitudes with log2|g| ~ N(mean2, sigma2²) and random signs.</summary>
    static float[] LogNormal(int n, double mean2, double sigma2, ulong seed)
    {
        var z = new float[n];
        var g = new Generator(seed);
        g.FillNormal(z, 0, 1);
        return z.Select((v, i) => (float)(Math.Pow(2, mean2 + sigma2 * v) * ((i & 1) == 0 ? 1 : -1))).ToArray();
    }

    [Fact]
    public void Log2_moments_of_a_lognormal_gradient_skip_zeros_and_non_finite_entries()
    {
        const int n = 100_000;
        var g = LogNormal(n, -20, 1.7, 1).Concat(new[] { 0f, -0f, float.NaN, float.PositiveInfinity }).ToArray();
        var s = GradientScale.Measure(Tensor.FromArray(g, new Shape(g.Length)));
        Assert.Equal((n, n + 4L), (s.NonZero, s.Count));
        // Standard errors σ/√n = 0.0054 (mean) and σ/√(2n) = 0.0038 (std); 5 of them, plus float32 rounding of 2^x.
        Assert.InRange(s.Mean, -20 - 0.027, -20 + 0.027);
        Assert.InRange(s.Std, 1.7 - 0.019, 1.7 + 0.019);
        Assert.True(double.IsNaN(GradientScale.Measure(Tensor.Zeros(5)).Mean));
    }

    [Fact]
    public void Scale_centres_log2_of_the_scaled_gradient_at_minus_three()
    {
        var raw = LogNormal(10_000, -17.3, 2, 2);
        var stats = GradientScale.Measure(Tensor.FromArray(raw, new Shape(raw.Length)));
        float factor = GradientScale.Factor(stats.Mean);
        var scaled = GradientScale.Measure(Tensor.FromArray(raw.Select(v => v * factor).ToArray(), new Shape(raw.Length)));
        Assert.Equal(-3, scaled.Mean, 1e-5);                  // only float32 roundings of v·factor remain
        Assert.Equal(stats.Std, scaled.Std, 1e-5);
        float p2 = GradientScale.PowerOfTwoFactor(stats.Mean);
        Assert.Equal(0u, BitConverter.SingleToUInt32Bits(p2) & 0x7F_FFFF);   // a power of two
        Assert.InRange(Math.Log2(p2) - Math.Log2(factor), -0.5, 0.5);
    }

    /// <summary>Quantises 2·10⁵ lognormal values (raw log2 mean −20, σ₂) on the device with the power-of-two scale that
    /// puts their log2 mean at <paramref name="centre"/>; returns the values and their quantisations.</summary>
    static (float[] X, Tensor G, Tensor Q) QuantizeLogNormal(string device, FloatFormat f, double sigma2, int centre)
    {
        var x = LogNormal(200_000, -20, sigma2, 3);
        var g = Tensor.FromArray(x, new Shape(x.Length), TestDevices.Parse(device));
        return (x, g, g.QuantizeFloat(f, Rounding.NearestEven, MathF.ScaleB(1, centre + 20)));
    }

    /// <summary>
    /// The exact model of E[(Q(X)−X)²]/E[X²] against the measured ‖Q(g)−g‖²/‖g‖² (QuantizationError, with ops).
    /// E4M3 at the METHODS.md centre −3 and σ₂ = 1: rounding noise only (the largest value, 448, is 11.8σ away), so
    /// the ratio estimator's error is governed by E[X⁴], whose weight sits well inside the sample. The tolerance is
    /// 5 standard errors of the ratio, estimated from the sample (delta method: Var(Σa/Σb) ≈ Var(a − R·b)/(n·mean(b)²)).
    /// (Where saturation matters this measure is a poor Monte Carlo target: its variance comes from the few largest
    /// draws; the per-element measure below covers those regions.)
    /// </summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Measured_relative_mse_matches_the_exact_model(string device)
    {
        var f = FloatFormat.E4M3FN;
        var (x, g, q) = QuantizeLogNormal(device, f, 1.0, -3);
        double measured = QuantizationError.Relative(g, q);
        double predicted = FormatError.Expected(f, 1.0, -3, ErrorMeasure.RelativeMse, ErrorModel.Exact);
        var qa = q.ToArray();
        double sumA = 0, sumB = 0;
        for (int i = 0; i < x.Length; i++) { double e = qa[i] - (double)x[i]; sumA += e * e; sumB += (double)x[i] * x[i]; }
        double r = sumA / sumB, v = 0;
        for (int i = 0; i < x.Length; i++) { double e = qa[i] - (double)x[i]; double t = e * e - r * x[i] * (double)x[i]; v += t * t; }
        double se = Math.Sqrt(v) / sumB;
        Assert.True(Math.Abs(measured - predicted) <= 5 * se, $"measured {measured:G5}, model {predicted:G5}, se {se:G3}");
    }

    public static TheoryData<string, string, double, int> PerElementCases()
    {
        var data = new TheoryData<string, string, double, int>();
        foreach (var d in TestDevices.Names)
        {
            data.Add(d, "e4m3fn", 1.0, -3);   // normal range only
            data.Add(d, "e2m3", 1.0, -1);     // denormals, flush to zero and saturation
            data.Add(d, "e3m2", 1.0, 1);      // saturation: 0.2% of the draws above the max
            data.Add(d, "e3m2", 1.5, -5);     // flush to zero below 2^−5 (2.3% of the draws)
        }
        return data;
    }

    /// <summary>
    /// The exact model of E[((Q(X)−X)/X)²] against the mean over the sample. Every term is at most 1 (a flushed value
    /// scores exactly 1, a saturated one less), so the sample mean's standard error sd/√n is reliable in every
    /// region; the tolerance is 5 of them.
    /// </summary>
    [Theory, MemberData(nameof(PerElementCases))]
    public void Measured_per_element_error_matches_the_exact_model(string device, string format, double sigma2, int centre)
    {
        var f = FloatFormat.Parse(format);
        var (x, g, q) = QuantizeLogNormal(device, f, sigma2, centre);
        var qa = q.ToArray();
        var terms = x.Select((v, i) => Math.Pow((qa[i] - (double)v) / v, 2)).ToArray();
        double mean = terms.Average(), sd = Math.Sqrt(terms.Average(t => (t - mean) * (t - mean)));
        double predicted = FormatError.Expected(f, sigma2, centre, ErrorMeasure.MeanSquaredRelativeError, ErrorModel.Exact);
        double se = sd / Math.Sqrt(x.Length);
        Assert.True(Math.Abs(mean - predicted) <= 5 * se, $"{format} σ₂={sigma2} centre={centre}: measured {mean:G5}, model {predicted:G5}, se {se:G3}");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Relative_error_of_tensors(string device)
    {
        var d = TestDevices.Parse(device);
        var g = Tensor.FromArray(new[] { 1f, 2f }, new Shape(2), d);
        Assert.Equal(0.2, QuantizationError.Relative(g, Tensor.FromArray(new[] { 1f, 1f }, new Shape(2), d)), 1e-7);
        Assert.Equal(0, QuantizationError.Relative(g, g));
        var zero = Tensor.Zeros(new Shape(2), d);
        Assert.Equal(0, QuantizationError.Relative(zero, zero));
        Assert.Equal(double.PositiveInfinity, QuantizationError.Relative(zero, g));
        var ex = Assert.Throws<ArgumentException>(() => QuantizationError.Relative(g, Tensor.Zeros(new Shape(3), d)));
        Assert.Contains("quantization error", ex.Message);
    }
}
