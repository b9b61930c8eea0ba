using System.Buffers;
using MathNet.Numerics.RootFinding;

namespace Frugal.Methods.Compression;

/// <summary>
/// Distribution-free thresholds: the same sparsity equations as <see cref="LogNormal"/>, solved on a sample of the
/// gradient instead of the fitted lognormal. NOT the paper's method (Chmiel et al. 2021 use the closed form): an
/// option for gradients that are not close to lognormal, e.g. a conv output feeding BatchNorm, whose gradient mixes
/// the ReLU-passed entries with the much smaller BatchNorm-correction entries where the ReLU blocked (measured:
/// KS 0.1–0.3, realised sparsity 1–4 pp below target with the closed form). The closed form's sparsity error is
/// bounded by the KS distance of the fit, since S(α) = (1/α)∫₀^α F(x) dx for stochastic pruning and F(α) for
/// thresholding; this solver's error is the sample's (≈ √(s(1 − s)/n), 0.14 pp at n = 65536).
/// </summary>
public static class EmpiricalThreshold
{
    /// <summary>
    /// The stochastic-pruning α whose expected sparsity on <paramref name="sample"/> is <paramref name="sparsity"/>:
    /// mean over entries of P(zero) = 1 for g = 0, 1 − |g|/α for 0 &lt; |g| &lt; α, 0 otherwise; solved for ln α by
    /// Brent's method (monotone). 0 (no pruning) when the sample's zeros already reach the target.
    /// </summary>
    public static double Stochastic(ReadOnlySpan<float> sample, double sparsity)
    {
        Check(sparsity, "empirical_threshold");
        var buffer = ArrayPool<float>.Shared.Rent(Math.Max(1, sample.Length));
        try
        {
            var (m, zeros, min, max) = Magnitudes(sample, buffer);
            int n = sample.Length;
            if (n == 0 || zeros >= sparsity * n || m == 0) return 0;
            double S(double logAlpha)
            {
                double a = Math.Exp(logAlpha), inv = 1 / a, sum = zeros;
                foreach (var x in buffer.AsSpan(0, m)) if (x < a) sum += 1 - x * inv;
                return sum / n - sparsity;
            }
            // S(min/2) = zeros/n < s; S(max/(1 − s)) ≥ 1 − max/α = s, so the bracket holds a root.
            double lo = Math.Log(min / 2), hi = Math.Log(max / (1 - sparsity)) + 0.01;
            return Math.Exp(Brent.FindRoot(S, lo, hi, 1e-9, 200));
        }
        finally { ArrayPool<float>.Shared.Return(buffer); }
    }

    /// <summary>The hard threshold that zeroes a fraction <paramref name="sparsity"/> of <paramref name="sample"/>: the
    /// ⌈s·n⌉-th smallest |g| nudged up one ulp (entries strictly below it are zeroed); 0 when the zeros already suffice.</summary>
    public static double Deterministic(ReadOnlySpan<float> sample, double sparsity)
    {
        Check(sparsity, "empirical_threshold");
        var buffer = ArrayPool<float>.Shared.Rent(Math.Max(1, sample.Length));
        try
        {
            var (m, zeros, _, _) = Magnitudes(sample, buffer);
            int n = sample.Length, want = (int)Math.Ceiling(sparsity * n) - zeros;
            if (n == 0 || want <= 0 || m == 0) return 0;
            var abs = buffer.AsSpan(0, m);
            abs.Sort();
            return MathF.BitIncrement(abs[Math.Min(want, m) - 1]);
        }
        finally { ArrayPool<float>.Shared.Return(buffer); }
    }

    /// <summary>Non-zero magnitudes into <paramref name="abs"/>: their count, the zeros (NaN counted as neither), min, max.</summary>
    static (int Count, int Zeros, double Min, double Max) Magnitudes(ReadOnlySpan<float> sample, float[] abs)
    {
        int m = 0, nan = 0;
        double min = double.MaxValue, max = 0;
        foreach (var v in sample)
        {
            float a = MathF.Abs(v);
            if (float.IsNaN(a)) { nan++; continue; }
            if (a == 0) continue;
            abs[m++] = a;
            min = Math.Min(min, a); max = Math.Max(max, a);
        }
        return (m, sample.Length - m - nan, min, max);
    }

    static void Check(double s, string op)
    {
        if (!(s >= 0 && s < 1)) throw new ArgumentException($"{op}: sparsity must be in [0, 1), got {s}");
    }
}
