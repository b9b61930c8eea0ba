using Frugal.Methods.Compression;
using Frugal.Ops;
using Frugal.Tensors;
using MathNet.Numerics;
using Normal = MathNet.Numerics.Distributions.Normal;

namespace Frugal.Tests.Methods.Compression;

/// <summary>The closed forms of LogNormal against numerical integration, the values METHODS.md §1 quotes, and Monte Carlo.</summary>
public class LogNormalTests
{
    const double Mu = -7;              // a typical neural-gradient scale; the formulas only see ã = α·e^{−μ}
    const int N = 200_000;

    /// <summary>E[f(x)] for x = e^{σz}, z ~ N(0, 1), by adaptive quadrature split at the kink z = ln ã/σ.</summary>
    static double Expect(Func<double, double> f, double sigma, double kink)
    {
        double g(double z) => Normal.PDF(0, 1, z) * f(Math.Exp(sigma * z));
        double k = Math.Clamp(kink, -12, 12);
        return Integrate.OnClosedInterval(g, -12, k, 1e-12) + Integrate.OnClosedInterval(g, k, 12, 1e-12);
    }

    [Fact]
    public void Sparsity_and_cosine_match_numerical_integration()
    {
        foreach (var sigma in new[] { 0.5, 1, 2, 3 })
            foreach (var t in new[] { -1.0, 0, 1, 2.5, 4 })
            {
                double a = Math.Exp(t), kink = t / sigma;
                double s = Expect(x => x < a ? 1 - x / a : 0, sigma, kink);
                Assert.True(Math.Abs(LogNormal.Sparsity(a, sigma) - s) < 1e-7, $"σ={sigma}, ln ã={t}: S={LogNormal.Sparsity(a, sigma)}, integral {s}");
                double ex2 = Math.Exp(2 * sigma * sigma);
                double et2 = Expect(x => x < a ? a * x : x * x, sigma, kink);
                Assert.True(Math.Abs(LogNormal.Cosine(a, sigma) - Math.Sqrt(ex2 / et2)) < 1e-6, $"σ={sigma}, ln ã={t}: cos");
                double kept = Expect(x => x < a ? 0 : x * x, sigma, kink);
                Assert.True(Math.Abs(LogNormal.DeterministicCosine(a, sigma) - Math.Sqrt(kept / ex2)) < 1e-6, $"σ={sigma}, ln ã={t}: deterministic cos");
            }
    }

    [Fact]
    public void Quoted_values_of_the_paper_and_thesis()
    {
        // METHODS.md §1: σ = 2, s = 0.85 → ln ã = 3.29 (the root is 3.2844, which quadrature confirms above: the
        // quoted figure is rounded loosely); cos at 85% ≈ 0.63 (σ = 1) and 0.993 (σ = 2).
        Assert.True(Math.Abs(LogNormal.LogNormalizedThreshold(0.85, 2) - 3.29) < 0.01);
        Assert.Equal(3.2844, LogNormal.LogNormalizedThreshold(0.85, 2), 4);
        Assert.Equal(0.63, LogNormal.Cosine(Math.Exp(LogNormal.LogNormalizedThreshold(0.85, 1)), 1), 2);
        Assert.Equal(0.993, LogNormal.Cosine(Math.Exp(LogNormal.LogNormalizedThreshold(0.85, 2)), 2), 3);
        Assert.Equal(Math.Exp(Mu + 3.2844), LogNormal.ThresholdForSparsity(0.85, Mu, 2), 1e-4 * Math.Exp(Mu + 3.2844));
    }

    /// <summary>
    /// Realised sparsity of the actual pruning op on 200k lognormal samples against the target. The realised fraction
    /// has standard error ≤ √(0.25/200000) = 0.11 pp, so ±0.5 pp (the bar) is 4.5 standard errors.
    /// </summary>
    [Fact]
    public void Monte_Carlo_pruning_hits_the_target_sparsity()
    {
        ulong seed = 10;
        foreach (var sigma in new[] { 1.0, 2, 3 })
            foreach (var s in new[] { 0.5, 0.7, 0.85, 0.9 })
            {
                var g = LogNormalSamples.Tensor(N, Mu, sigma, seed++, Device.Cpu);
                var (_, st) = g.PruneStochastic((float)LogNormal.ThresholdForSparsity(s, Mu, sigma), seed);
                Assert.True(Math.Abs(st.Sparsity - s) < 0.005, $"stochastic σ={sigma}, s={s}: realised {st.Sparsity:F4}");
                var (_, dt) = g.PruneThreshold((float)LogNormal.DeterministicThreshold(s, Mu, sigma));
                Assert.True(Math.Abs(dt.Sparsity - s) < 0.005, $"deterministic σ={sigma}, s={s}: realised {dt.Sparsity:F4}");
            }
    }

    /// <summary>
    /// Closed-form cosine against the measured cosine of the pruned samples. σ = 1: the sample's Σx² has relative
    /// standard error √(e^{4σ²}/n) ≈ 1.7%, which moves the cosine by well under 0.005. σ = 2: Σx² is dominated by the
    /// extreme tail (z ≈ 2σ = 4) that a finite sample under-represents, so the measured cosine sits slightly below
    /// the formula (0.977 vs 0.982 at 90%): a 0.01 band, and the direction is checked. The truncated variant is more
    /// conservative than both.
    /// </summary>
    [Fact]
    public void Closed_form_cosine_matches_the_measured_cosine()
    {
        ulong seed = 40;
        foreach (var (sigma, tol) in new[] { (1.0, 0.005), (2.0, 0.01) })
            foreach (var s in new[] { 0.5, 0.7, 0.85, 0.9 })
            {
                var g = LogNormalSamples.Tensor(N, Mu, sigma, seed++, Device.Cpu);
                double alpha = LogNormal.ThresholdForSparsity(s, Mu, sigma), a = alpha * Math.Exp(-Mu);
                var (_, st) = g.PruneStochastic((float)alpha, seed);
                double plain = LogNormal.Cosine(a, sigma);
                Assert.True(Math.Abs(st.Cosine - plain) < tol, $"σ={sigma}, s={s}: measured {st.Cosine:F4}, formula {plain:F4}");
                var fit = GradientStatistics.FitSample(g.ToArray(), kolmogorovSmirnov: false);
                Assert.True(LogNormal.TruncatedCosine(a, sigma, fit.TailK) <= st.Cosine + 1e-3, $"σ={sigma}, s={s}: truncated above measured");

                double det = LogNormal.DeterministicThreshold(s, Mu, sigma);
                var (_, dt) = g.PruneThreshold((float)det);
                Assert.True(Math.Abs(dt.Cosine - LogNormal.DeterministicCosine(det * Math.Exp(-Mu), sigma)) < tol, $"deterministic σ={sigma}, s={s}: measured {dt.Cosine:F4}");
            }
    }

    [Fact]
    public void Deterministic_threshold_is_below_the_stochastic_one_at_equal_sparsity()
    {
        foreach (var sigma in new[] { 0.5, 1, 2, 3 })
            foreach (var s in new[] { 0.3, 0.5, 0.85, 0.95 })
            {
                double det = LogNormal.DeterministicThreshold(s, Mu, sigma), sto = LogNormal.ThresholdForSparsity(s, Mu, sigma);
                Assert.True(det < sto, $"σ={sigma}, s={s}: deterministic {det}, stochastic {sto}");
                // and each is exact for its own sparsity formula
                Assert.Equal(s, LogNormal.DeterministicSparsity(det * Math.Exp(-Mu), sigma), 9);
                Assert.Equal(s, LogNormal.Sparsity(sto * Math.Exp(-Mu), sigma), 7);
            }
    }

    [Fact]
    public void Zero_fraction_correction_targets_the_non_zeros_and_skips_when_z_reaches_s()
    {
        Assert.Equal(0, LogNormal.ThresholdForSparsity(0.5, Mu, 2, zeroFraction: 0.5));
        Assert.Equal(0, LogNormal.ThresholdForSparsity(0.5, Mu, 2, zeroFraction: 0.7));
        Assert.Equal(0, LogNormal.DeterministicThreshold(0.5, Mu, 2, zeroFraction: 0.6));
        Assert.Equal(0.75, LogNormal.NonZeroTarget(0.85, 0.4), 12);

        // 40% exact zeros (ReLU-like), target 85% overall: the corrected threshold lands on target; the uncorrected one
        // (85% of the non-zeros) overshoots by 0.4·0.15 = 6 pp, so this test would catch a missing correction.
        var g = LogNormalSamples.Tensor(N, Mu, 1.5, 77, Device.Cpu, zeroFraction: 0.4);
        var fit = GradientStatistics.FitSample(g.ToArray(), kolmogorovSmirnov: false);
        Assert.Equal(0.4, fit.ZeroFraction, 2);
        var (_, st) = g.PruneStochastic((float)LogNormal.ThresholdForSparsity(0.85, fit.Mu, fit.Sigma, fit.ZeroFraction), 5);
        Assert.True(Math.Abs(st.Sparsity - 0.85) < 0.005, $"realised {st.Sparsity:F4}");
        var (_, naive) = g.PruneStochastic((float)LogNormal.ThresholdForSparsity(0.85, fit.Mu, fit.Sigma), 5);
        Assert.True(naive.Sparsity > 0.89, $"uncorrected {naive.Sparsity:F4}");
    }

    [Fact]
    public void Sparsity_for_cosine_inverts_the_cosine()
    {
        foreach (var sigma in new[] { 0.7, 1, 2 })
            foreach (var floor in new[] { 0.5, 0.9, 0.95, 0.98 })
                foreach (var stochastic in new[] { true, false })
                    foreach (var k in new[] { double.PositiveInfinity, 2.7 })
                    {
                        double s = LogNormal.SparsityForCosine(floor, sigma, k, stochastic);
                        Assert.InRange(s, 0, 1);
                        double t = stochastic ? LogNormal.LogNormalizedThreshold(s, sigma) : sigma * Normal.InvCDF(0, 1, s);
                        double cos = stochastic ? LogNormal.TruncatedCosine(Math.Exp(t), sigma, k) : LogNormal.DeterministicCosine(Math.Exp(t), sigma, k);
                        Assert.True(Math.Abs(cos - floor) < 1e-6, $"σ={sigma}, floor={floor}, stochastic={stochastic}, k={k}: cos {cos} at s={s}");
                    }
        Assert.Equal(0, LogNormal.SparsityForCosine(1, 2));
        // Larger σ tolerates more sparsity at the same floor (METHODS.md §1: the cosine depends on σ and sparsity only).
        Assert.True(LogNormal.SparsityForCosine(0.95, 2) > LogNormal.SparsityForCosine(0.95, 1));
    }

    [Fact]
    public void Bad_arguments_name_the_function()
    {
        Assert.Contains("σ", Assert.Throws<ArgumentException>(() => LogNormal.Sparsity(1, 0)).Message);
        Assert.Contains("threshold_for_sparsity", Assert.Throws<ArgumentException>(() => LogNormal.ThresholdForSparsity(1, 0, 1)).Message);
        Assert.Contains("floor", Assert.Throws<ArgumentException>(() => LogNormal.SparsityForCosine(0, 1)).Message);
    }
}
