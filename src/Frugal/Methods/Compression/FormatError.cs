using Frugal.Backends;
using MathNet.Numerics.Distributions;

namespace Frugal.Methods.Compression;

/// <summary>Which relative error of a quantiser Q the format choice minimises.</summary>
public enum ErrorMeasure
{
    /// <summary>E[(Q(X)−X)²] / E[X²]: the expected ‖Q(g)−g‖²/‖g‖² of a tensor (what <see cref="QuantizationError"/> measures).</summary>
    RelativeMse,
    /// <summary>E[((Q(X)−X)/X)²]: the mean squared relative error of one element.</summary>
    MeanSquaredRelativeError,
}

/// <summary>How the error of a format is computed.</summary>
public enum ErrorModel
{
    /// <summary>The paper's decomposition: uniform rounding noise step²/12 in each binade (the denormal range has
    /// the constant step 2^(emin−M)), values below half the smallest denormal flushed to zero (error x), and
    /// saturation above the largest finite value (error x − max).</summary>
    Noise,
    /// <summary>Round-to-nearest-even exactly: the error of every representable value over its rounding interval,
    /// in closed form, everything above the largest value saturating to it.</summary>
    Exact,
}

/// <summary>
/// The expected quantisation error of a floating-point format [1, E, M] for lognormal neural gradients, and the
/// exponent-bit choice that minimises it (METHODS.md §1: "better than a table"; Chmiel et al., ICLR 2021, §5).
/// The gradient magnitude after the per-layer scale is X = |g|·scale with log2 X ~ N(mean2, σ₂²); the scale
/// 2^(−μ̄₂−3) of <see cref="GradientScale"/> puts mean2 at −3. Everything is closed form through the partial
/// moments of the lognormal, E[X^p; a ≤ X &lt; b] = 2^(p·m)·e^((p·ln2·s)²/2)·[Φ((log2 b − m − p·ln2·s²)/s) − Φ((log2 a − m − p·ln2·s²)/s)],
/// with Φ from MathNet.
/// </summary>
public static class FormatError
{
    /// <summary>log2 of the scaled gradient's mean magnitude that <see cref="GradientScale"/> produces.</summary>
    public const double CentredMean = -3;

    /// <summary>The expected error of quantising X (log2 X ~ N(<paramref name="mean2"/>, <paramref name="sigma2"/>²)) to <paramref name="format"/>.</summary>
    public static double Expected(FloatFormat format, double sigma2, double mean2 = CentredMean,
                                  ErrorMeasure measure = ErrorMeasure.RelativeMse, ErrorModel model = ErrorModel.Noise)
        => Expected(format.MinExponent, format.MantissaBits, format.MaxFinite, sigma2, mean2, measure, model);

    /// <summary>
    /// The log2 mean of the scaled gradient that minimises the expected error of <paramref name="format"/>: the
    /// per-format optimal scale is 2^(centre − μ̄₂). Grid search in quarter binades over every centre that puts the
    /// (for the relative MSE, X²-weighted) bulk of the distribution inside the format, refined to 1/64 binade.
    /// </summary>
    /// <remarks>With a free centre the two measures pick the same formats: E[(Q−X)²]/E[X²] is the mean squared
    /// relative error under the X²-weighted distribution, again lognormal with the same σ₂ and its log2 mean
    /// moved up by 2·ln2·σ₂²; only the optimal centre differs by that shift.</remarks>
    public static double BestCentre(FloatFormat format, double sigma2, ErrorMeasure measure = ErrorMeasure.RelativeMse,
                                    ErrorModel model = ErrorModel.Noise)
    {
        int emin = format.MinExponent, m = format.MantissaBits;
        double max = format.MaxFinite;
        double tilt = measure == ErrorMeasure.RelativeMse ? 2 * Math.Log(2) * sigma2 * sigma2 : 0;
        double lo = emin - m - tilt - 2, hi = Math.Log2(max) - tilt + 2;
        double best = lo, bestError = double.PositiveInfinity;
        void Try(double c)
        {
            double err = Expected(emin, m, max, sigma2, c, measure, model);
            if (err < bestError) { bestError = err; best = c; }
        }
        for (double c = lo; c <= hi; c += 0.25) Try(c);
        double coarse = best;
        for (double c = coarse - 0.25; c <= coarse + 0.25; c += 1.0 / 64) Try(c);
        return best;
    }

    /// <summary>
    /// The E in 1..n−2 (mantissa ≥ 1) whose n-bit format [1, E, n−1−E] has the least expected error for σ₂; the
    /// smaller E on a tie. <paramref name="mean2"/> null gives each format its own best centre
    /// (<see cref="BestCentre"/>, i.e. its optimal per-layer scale): that is what reproduces the reference table
    /// (with <see cref="SpecialValues.NaNOnly"/> formats, 19 of its 20 intervals at their mid-points; see the tests).
    /// A number fixes the centre for every format, e.g. −3 for the scale 2^(−μ̄₂−3) of METHODS.md.
    /// With <see cref="SpecialValues.InfNaN"/> E = 1 never wins: its values are a subset of E = 2's.
    /// </summary>
    public static int BestExponentBits(int bits, double sigma2, SpecialValues specials = SpecialValues.InfNaN, double? mean2 = null,
                                       ErrorMeasure measure = ErrorMeasure.RelativeMse, ErrorModel model = ErrorModel.Noise)
    {
        if (bits < 3 || bits > FloatRounding.MaxTotalBits)
            throw new ArgumentException($"exponent bits: formats of 3..{FloatRounding.MaxTotalBits} bits have a choice, got {bits}");
        int best = 1; double bestError = double.PositiveInfinity;
        int maxE = Math.Min(bits - 2, specials == SpecialValues.NaNOnly ? FloatRounding.MaxExponentBits - 1 : FloatRounding.MaxExponentBits);
        for (int e = 1; e <= maxE; e++)
        {
            var format = new FloatFormat(e, bits - 1 - e, specials);
            double err = Expected(format, sigma2, mean2 ?? BestCentre(format, sigma2, measure, model), measure, model);
            if (err < bestError * (1 - 1e-12)) { bestError = err; best = e; }
        }
        return best;
    }

    /// <summary>The same for a format given by its smallest normal exponent, mantissa bits and largest finite value
    /// (so a hypothetical variant, e.g. without reserved codes, can be evaluated too).</summary>
    public static double Expected(int minExponent, int mantissaBits, double maxFinite, double sigma2, double mean2,
                                  ErrorMeasure measure, ErrorModel model)
    {
        if (!(sigma2 > 0) || double.IsInfinity(sigma2))
            throw new ArgumentException($"format error: σ₂ must be finite and positive, got {sigma2}");
        var d = new Lognormal2(mean2, sigma2, measure);
        return model == ErrorModel.Noise ? NoiseModel(d, minExponent, mantissaBits, maxFinite) : ExactRne(d, minExponent, mantissaBits, maxFinite);
    }

    static double NoiseModel(Lognormal2 d, int minExponent, int mantissaBits, double maxFinite)
    {
        double minNormal = Math.ScaleB(1.0, minExponent), step = Math.ScaleB(1.0, minExponent - mantissaBits);
        double total = d.SquaredError(0, step / 2, 0);                          // flushed to zero
        total += d.Noise(step / 2, Math.Min(minNormal, maxFinite), step);       // denormals: constant step
        for (int k = minExponent; Math.ScaleB(1.0, k) < maxFinite; k++)         // normal binades
            total += d.Noise(Math.ScaleB(1.0, k), Math.Min(Math.ScaleB(1.0, k + 1), maxFinite), Math.ScaleB(1.0, k - mantissaBits));
        return total + d.SquaredError(maxFinite, double.PositiveInfinity, maxFinite);  // saturated
    }

    static double ExactRne(Lognormal2 d, int minExponent, int mantissaBits, double maxFinite)
    {
        var values = new List<double> { 0 };
        double step = Math.ScaleB(1.0, minExponent - mantissaBits);
        for (int k = 1; k < 1 << mantissaBits && k * step <= maxFinite; k++) values.Add(k * step);
        for (int e = minExponent; Math.ScaleB(1.0, e) <= maxFinite; e++)
            for (int k = 0; k < 1 << mantissaBits; k++)
            {
                double v = (1 + k * Math.ScaleB(1.0, -mantissaBits)) * Math.ScaleB(1.0, e);
                if (v > maxFinite) break;
                values.Add(v);
            }
        double total = 0;
        for (int j = 0; j < values.Count; j++)
        {
            double lo = j == 0 ? 0 : (values[j - 1] + values[j]) / 2;
            double hi = j == values.Count - 1 ? double.PositiveInfinity : (values[j] + values[j + 1]) / 2;
            total += d.SquaredError(lo, hi, values[j]);
        }
        return total;
    }

    /// <summary>log2 X ~ N(m, s²); error terms already divided by E[X²] (relative MSE) or per element (relative error).</summary>
    readonly struct Lognormal2(double m, double s, ErrorMeasure measure)
    {
        const double Ln2 = 0.69314718055994530942;

        /// <summary>Contribution of rounding X in [a, b) to v: E[(v − X)²; ·] / E[X²], or E[(1 − v/X)²; ·].</summary>
        public double SquaredError(double a, double b, double v)
        {
            if (!(b > a)) return 0;
            return measure == ErrorMeasure.RelativeMse
                ? Moment(2, a, b, 1) - Moment(1, a, b, 2 * v) + Moment(0, a, b, v * v)      // (X − v)²
                : Moment(0, a, b, 1) - Moment(-1, a, b, 2 * v) + Moment(-2, a, b, v * v);   // (1 − v/X)²
        }

        /// <summary>Uniform rounding noise of step Δ on [a, b): Δ²/12·P / E[X²], or Δ²/12·E[X^−2].</summary>
        public double Noise(double a, double b, double step) => b > a
            ? Moment(measure == ErrorMeasure.RelativeMse ? 0 : -2, a, b, step * step / 12)
            : 0;

        /// <summary>factor·E[X^p; a ≤ X &lt; b], divided by E[X²] for the relative MSE; the exponentials are combined
        /// before exp so that wide distributions neither overflow nor underflow early.</summary>
        double Moment(int p, double a, double b, double factor)
        {
            if (factor == 0) return 0;
            double shift = p * Ln2 * s * s;
            double prob = Between((Math.Log2(a) - m - shift) / s, (Math.Log2(b) - m - shift) / s);
            if (prob == 0) return 0;
            double logMoment = LogFullMoment(p) - (measure == ErrorMeasure.RelativeMse ? LogFullMoment(2) : 0);
            return Math.Exp(logMoment + Math.Log(factor)) * prob;     // factor > 0: 1, 2v, v², Δ²/12
        }

        /// <summary>ln E[X^p] = p·m·ln2 + (p·ln2·s)²/2.</summary>
        double LogFullMoment(int p) => p * m * Ln2 + 0.5 * (p * Ln2 * s) * (p * Ln2 * s);

        /// <summary>Φ(z2) − Φ(z1), from the upper tail when both are positive so that neither cancels to 1 − 1.</summary>
        static double Between(double z1, double z2) => z1 > 0
            ? Normal.CDF(0, 1, -z1) - Normal.CDF(0, 1, -z2)
            : Normal.CDF(0, 1, z2) - Normal.CDF(0, 1, z1);
    }
}
