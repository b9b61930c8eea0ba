using MathNet.Numerics.Distributions;
using MathNet.Numerics.RootFinding;

namespace Frugal.Methods.Compression;

/// <summary>
/// Closed-form pruning math for lognormal neural gradients: |g| with ln|g| ~ N(μ, σ²) (Chmiel, Ben-Uri, Shkolnik,
/// Hoffer, Banner, Soudry, "Neural gradients are near-lognormal", ICLR 2021, arXiv 2006.08173, §4; the cosine
/// formulas from Ben-Uri's M.Sc. thesis; ../shared/METHODS.md §1). Every function works in the normalised
/// threshold ã = α·e^{−μ}, because sparsity and cosine depend on σ and ã only. Sparsities here are of the
/// non-zero entries (s'); <see cref="NonZeroTarget"/> converts an overall target with a zero fraction z.
/// </summary>
public static class LogNormal
{
    /// <summary>The bracket for ln ã (METHODS.md §1): wide enough for σ ∈ (0, 5] and any practical sparsity.</summary>
    public const double LogLow = -9, LogHigh = 20;

    static double Phi(double x) => Normal.CDF(0, 1, x);

    /// <summary>
    /// Expected fraction of zeros after stochastic pruning at normalised threshold ã (paper §4, the sparsity
    /// equation): S(ã; σ) = Φ(ln ã/σ) − (e^{σ²/2}/ã)·Φ((ln ã − σ²)/σ), i.e. E[(1 − x/ã)·1{x &lt; ã}].
    /// </summary>
    public static double Sparsity(double normalizedThreshold, double sigma)
    {
        CheckSigma(sigma, "sparsity");
        if (normalizedThreshold <= 0) return 0;
        double t = Math.Log(normalizedThreshold);
        // e^{σ²/2}/ã computed in the log domain: large σ and tiny ã would overflow.
        return Math.Max(0, Phi(t / sigma) - Math.Exp(sigma * sigma / 2 - t) * Phi((t - sigma * sigma) / sigma));
    }

    /// <summary>Fraction of zeros after hard thresholding at ã: Φ(ln ã/σ).</summary>
    public static double DeterministicSparsity(double normalizedThreshold, double sigma)
    {
        CheckSigma(sigma, "deterministic_sparsity");
        return normalizedThreshold <= 0 ? 0 : Phi(Math.Log(normalizedThreshold) / sigma);
    }

    /// <summary>
    /// The sparsity target for the non-zero entries when a fraction <paramref name="zeroFraction"/> of the tensor is
    /// already exactly zero (ReLU): s' = (s − z)/(1 − z) (METHODS.md §1); ≤ 0 means "do not prune".
    /// </summary>
    public static double NonZeroTarget(double sparsity, double zeroFraction) =>
        zeroFraction >= 1 ? 0 : (sparsity - zeroFraction) / (1 - zeroFraction);

    /// <summary>
    /// The stochastic-pruning threshold α for overall sparsity <paramref name="sparsity"/>: fit on the non-zeros
    /// (μ, σ), target s' = (s − z)/(1 − z), then S(ã; σ) = s' solved for ln ã by Brent's method on
    /// [<see cref="LogLow"/>, <see cref="LogHigh"/>] (S is monotone; it has no closed-form inverse), α = ã·e^{μ}.
    /// Returns 0 (no pruning) when z ≥ s. Example: σ = 2, s = 0.85, z = 0 gives ln ã = 3.29.
    /// </summary>
    public static double ThresholdForSparsity(double sparsity, double mu, double sigma, double zeroFraction = 0)
    {
        CheckSparsity(sparsity, "threshold_for_sparsity");
        double s = NonZeroTarget(sparsity, zeroFraction);
        return s <= 0 ? 0 : Math.Exp(mu + LogNormalizedThreshold(s, sigma));
    }

    /// <summary>ln ã with S(ã; σ) = s' (non-zero target s' in (0, 1)), clamped to the bracket.</summary>
    public static double LogNormalizedThreshold(double nonZeroSparsity, double sigma)
    {
        CheckSigma(sigma, "threshold_for_sparsity");
        return SolveDecreasingOrIncreasing(t => Sparsity(Math.Exp(t), sigma) - nonZeroSparsity);
    }

    /// <summary>
    /// Hard-threshold α for overall sparsity s: α = exp(μ + σ·Φ⁻¹(s')), s' = (s − z)/(1 − z); 0 when z ≥ s.
    /// Smaller than the stochastic α at the same sparsity, because stochastic pruning revives some entries as ±α.
    /// </summary>
    public static double DeterministicThreshold(double sparsity, double mu, double sigma, double zeroFraction = 0)
    {
        CheckSparsity(sparsity, "deterministic_threshold");
        CheckSigma(sigma, "deterministic_threshold");
        double s = NonZeroTarget(sparsity, zeroFraction);
        return s <= 0 ? 0 : Math.Exp(mu + sigma * Normal.InvCDF(0, 1, s));
    }

    /// <summary>
    /// Cosine similarity between a lognormal tensor and its stochastically pruned version (thesis):
    /// cos = √(E[x²]/E[T(x)²]) because E[x·T(x)] = E[x²] for an unbiased T, with E[x²] = e^{2σ²} and
    /// E[T²] = e^{2σ²}[1 − Φ((ln ã − 2σ²)/σ)] + ã·e^{σ²/2}·Φ((ln ã − σ²)/σ). Exact zeros change neither norm.
    /// At 85% sparsity: 0.63 for σ = 1, 0.993 for σ = 2 (METHODS.md §1).
    /// </summary>
    public static double Cosine(double normalizedThreshold, double sigma) =>
        TruncatedCosine(normalizedThreshold, sigma, double.PositiveInfinity);

    /// <summary>
    /// <see cref="Cosine"/> with E[x²] truncated at ln x ≤ kσ (the reference code's variant: a finite tensor has no
    /// extreme tail; k is the standardised ln|g| of the tensor's top-1/300 quantile, see
    /// <see cref="GradientFit.TailK"/>): numerator e^{2σ²}Φ(k − 2σ), kept-tail term
    /// e^{2σ²}[Φ(k − 2σ) − Φ((ln ã − 2σ²)/σ)]. Lower than the plain cosine (more conservative). k = ∞ is the plain one.
    /// </summary>
    public static double TruncatedCosine(double normalizedThreshold, double sigma, double k)
    {
        CheckSigma(sigma, "cosine");
        if (normalizedThreshold <= 0) return 1;
        double t = Math.Log(normalizedThreshold), s2 = sigma * sigma;
        double kept = TailMass(k, sigma);
        // Everything divided by e^{2σ²}: the stochastic term becomes exp(ln ã + σ²/2 − 2σ²)·Φ(...).
        double upper = Math.Max(0, kept - Phi((t - 2 * s2) / sigma));
        double revived = Math.Exp(t - 1.5 * s2) * Phi((t - s2) / sigma);
        return Math.Min(1, Math.Sqrt(kept / (upper + revived)));
    }

    /// <summary>
    /// Cosine after hard thresholding (biased; the comparison baseline): cos² = E[x²; x ≥ ã]/E[x²]
    /// = 1 − Φ((ln ã − 2σ²)/σ), truncated at kσ as <see cref="TruncatedCosine"/> when k is finite.
    /// </summary>
    public static double DeterministicCosine(double normalizedThreshold, double sigma, double k = double.PositiveInfinity)
    {
        CheckSigma(sigma, "deterministic_cosine");
        if (normalizedThreshold <= 0) return 1;
        double t = Math.Log(normalizedThreshold);
        double kept = TailMass(k, sigma);
        return Math.Sqrt(Math.Max(0, kept - Phi((t - 2 * sigma * sigma) / sigma)) / kept);
    }

    /// <summary>Φ(k − 2σ): the share of E[x²] from ln x ≤ kσ (1 for k = ∞), as an upper-tail complement for accuracy.</summary>
    static double TailMass(double k, double sigma) => double.IsPositiveInfinity(k) ? 1 : Phi(k - 2 * sigma);

    /// <summary>
    /// The largest non-zero sparsity s' whose cosine is still ≥ <paramref name="cosFloor"/> (thesis, per-layer
    /// allocation): cos(ã) is decreasing in ã, so cos(ã) = floor is solved for ln ã by Brent's method, and
    /// s' = S(ã). <paramref name="stochastic"/> false uses the hard-threshold formulas. Floor 1 gives 0.
    /// </summary>
    public static double SparsityForCosine(double cosFloor, double sigma, double k = double.PositiveInfinity, bool stochastic = true)
    {
        CheckSigma(sigma, "sparsity_for_cosine");
        if (!(cosFloor > 0 && cosFloor <= 1)) throw new ArgumentException($"sparsity_for_cosine: floor must be in (0, 1], got {cosFloor}");
        if (cosFloor >= 1) return 0;
        Func<double, double> cos = stochastic ? a => TruncatedCosine(a, sigma, k) : a => DeterministicCosine(a, sigma, k);
        double t = SolveDecreasingOrIncreasing(u => cos(Math.Exp(u)) - cosFloor);
        double a = Math.Exp(t);
        return stochastic ? Sparsity(a, sigma) : DeterministicSparsity(a, sigma);
    }

    /// <summary>Root of a monotone f on [LogLow, LogHigh] by Brent; the nearer end when f has one sign on the bracket.</summary>
    static double SolveDecreasingOrIncreasing(Func<double, double> f)
    {
        double fl = f(LogLow), fh = f(LogHigh);
        if (fl == 0) return LogLow;
        if (fh == 0) return LogHigh;
        if (Math.Sign(fl) == Math.Sign(fh)) return Math.Abs(fl) < Math.Abs(fh) ? LogLow : LogHigh;
        return Brent.FindRoot(f, LogLow, LogHigh, 1e-10, 200);
    }

    static void CheckSigma(double sigma, string op)
    {
        if (!(sigma > 0) || double.IsInfinity(sigma)) throw new ArgumentException($"{op}: σ must be positive and finite, got {sigma}");
    }

    static void CheckSparsity(double s, string op)
    {
        if (!(s >= 0 && s < 1)) throw new ArgumentException($"{op}: sparsity must be in [0, 1), got {s}");
    }
}
