using Frugal.Tensors;

namespace Frugal.Methods.Compression;

/// <summary>Moments of log2|g| over the non-zero entries of a gradient tensor (METHODS.md §1).</summary>
/// <param name="Mean">μ̄₂ = mean of log2|g|.</param>
/// <param name="Std">σ₂ = population standard deviation of log2|g| (what picks the exponent bits).</param>
/// <param name="NonZero">How many entries entered the moments (non-zero and finite).</param>
/// <param name="Count">All entries of the tensor.</param>
public readonly record struct Log2Stats(double Mean, double Std, long NonZero, long Count);

/// <summary>
/// The per-layer scale of low-bit floating-point gradients (METHODS.md §1; Chmiel et al., ICLR 2021, §5): multiply
/// by 2^(−μ̄₂−3) before the cast and divide back after, so the scaled log2|g| has mean −3, slightly below the
/// middle of the format's exponent range; the upper tail, which dominates the squared error, then keeps room
/// below the largest finite value.
/// </summary>
public static class GradientScale
{
    /// <summary>2^(centre − μ̄₂): with the default centre −3 the scale 2^(−μ̄₂−3) of METHODS.md. Not a power of two in
    /// general, so the multiply rounds once in float32 (relative 2^−24, far below the format's own rounding).
    /// A format's own optimal centre is <see cref="FormatError.BestCentre"/> (what the error-minimising exponent
    /// choice assumes).</summary>
    public static float Factor(double mean2, double centre = FormatError.CentredMean) => (float)Math.Pow(2, centre - mean2);

    /// <summary>2^round(centre − μ̄₂): the same centring to within half a binade, with exact scaling and unscaling
    /// (what a hardware exponent shift does).</summary>
    public static float PowerOfTwoFactor(double mean2, double centre = FormatError.CentredMean) => (float)Math.Pow(2, Math.Round(centre - mean2));

    /// <summary>
    /// μ̄₂ and σ₂ of log2|g| over the entries that are non-zero and finite. Host-side: one copy of the tensor to the
    /// host (ToArray) and one Math.Log2 per entry, accumulated in double with Welford's update (no cancellation
    /// when |μ̄₂| ≫ σ₂). About 40 ns per entry on one core (40 ms per million entries, measured on the 2-core dev
    /// machine): meant for the statistics pass the schedule runs once per epoch (METHODS.md), not for every step. An all-zero tensor gives NaN moments.
    /// </summary>
    public static Log2Stats Measure(Tensor g) => Measure(g.ToArray());

    /// <summary>The same moments of values already on the host.</summary>
    public static Log2Stats Measure(ReadOnlySpan<float> data)
    {
        double mean = 0, m2 = 0;
        long count = 0;
        foreach (float v in data)
        {
            if (v == 0 || !float.IsFinite(v)) continue;
            double l = Math.Log2(Math.Abs(v));
            count++;
            double delta = l - mean;
            mean += delta / count;
            m2 += delta * (l - mean);
        }
        return count == 0
            ? new Log2Stats(double.NaN, double.NaN, 0, data.Length)
            : new Log2Stats(mean, Math.Sqrt(m2 / count), count, data.Length);
    }
}
