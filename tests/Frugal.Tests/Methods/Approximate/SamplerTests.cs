using Frugal.Methods.Approximate;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Approximate;

/// <summary>
/// The estimators of METHODS.md §2 on a synthetic pair and an activation/weight pair. Monte Carlo tolerances: the mean of
/// M independent unbiased estimates has E‖mean − AB‖² = E‖err‖²/M exactly, so the observed value is compared with that
/// (times 3: a sum over hundreds of entries concentrates near its mean); MC means of ‖err‖² and of the kept count are
/// compared with the formulas within 4 sample standard errors.
/// </summary>
public class SamplerTests
{
    const int Draws = 3000;

    static IEnumerable<IColumnSampler> Unbiased() =>
        [new CrsSampler(), new CrsSampler(epsilon: 0.1), new CrsSampler(uniform: true), new BernoulliSampler(), new BernoulliSampler(epsilon: 0.1)];

    static int K(Pairs.Pair pair, double keep = 0.3) => Math.Min(SamplingMath.KeepCount(pair.N, keep, 1), pair.Weights().Count(a => a > 0));

    [Fact]
    public void Crs_and_bernoulli_are_unbiased()
    {
        foreach (var pair in Pairs.All())
            foreach (var sampler in Unbiased())
            {
                var exact = pair.Exact();
                var a = pair.Weights();
                var rng = new Generator(21);
                int k = K(pair);
                // The mean estimate is A·diag(mean factor)·B, so its error is the quadratic form of (mean factor − 1).
                var meanFactor = new double[pair.N];
                double errSq = 0;
                for (int t = 0; t < Draws; t++)
                {
                    var sample = sampler.Sample(a, k, rng);
                    errSq += pair.SquaredError(sample) / Draws;
                    var f = pair.Factors(sample);
                    for (int i = 0; i < pair.N; i++) meanFactor[i] += f[i] / Draws;
                }
                double bias = pair.QuadraticError(meanFactor.Select(v => v - 1).ToArray());
                Assert.True(bias <= 3 * errSq / Draws,
                    $"{sampler.Name} ε={(sampler as CrsSampler)?.Epsilon ?? (sampler as BernoulliSampler)?.Epsilon} on {pair.Name}: ‖mean − AB‖² = {bias:G3}, expected about {errSq / Draws:G3}");
                // The check has teeth: an estimator 5% off in scale would fail it (for the optimal samplers; uniform
                // CRS, the baseline, has too much variance for that at this many draws).
                if (sampler is not CrsSampler { Uniform: true })
                    Assert.True(0.05 * 0.05 * Pairs.SquaredDistance(exact, new double[pair.M, pair.P]) > 3 * errSq / Draws, $"{pair.Name}, {sampler.Name}: too few draws to see a 5% bias");
            }
    }

    [Fact]
    public void Crs_error_matches_the_formula()
    {
        foreach (var pair in Pairs.All())
            foreach (var sampler in new[] { new CrsSampler(), new CrsSampler(epsilon: 0.1), new CrsSampler(uniform: true) })
            {
                var a = pair.Weights();
                int k = K(pair);
                double exactSq = Pairs.SquaredDistance(pair.Exact(), new double[pair.M, pair.P]);
                double formula = SamplingMath.CrsExpectedSquaredError(a, sampler.Probabilities(a), k, exactSq);
                var (mean, se) = MonteCarlo(pair, sampler, k);
                Assert.True(Math.Abs(mean - formula) <= 4 * se, $"{sampler.Name} on {pair.Name}: MC {mean:G4} ± {se:G3}, formula {formula:G4}");
            }
        // With the optimal p the formula is METHODS.md's (1/k)((Σa)² − ‖AB‖²).
        var s = Pairs.Synthetic(1);
        var w = s.Weights();
        double ab = Pairs.SquaredDistance(s.Exact(), new double[s.M, s.P]);
        Assert.Equal((w.Sum() * w.Sum() - ab) / 10, SamplingMath.CrsExpectedSquaredError(w, SamplingMath.CrsProbabilities(w), 10, ab), 6);
    }

    [Fact]
    public void Bernoulli_error_and_expected_count_match_the_formulas()
    {
        foreach (var pair in Pairs.All())
        {
            var a = pair.Weights();
            int k = K(pair);
            var sampler = new BernoulliSampler();
            var p = sampler.Probabilities(a, k);
            var (mean, se) = MonteCarlo(pair, sampler, k);
            double formula = SamplingMath.BernoulliExpectedSquaredError(a, p);
            Assert.True(Math.Abs(mean - formula) <= 4 * se, $"bernoulli on {pair.Name}: MC {mean:G4} ± {se:G3}, formula {formula:G4}");

            var rng = new Generator(8);
            double count = 0;
            for (int t = 0; t < Draws; t++) count += sampler.Sample(a, k, rng).Count;
            double sd = Math.Sqrt(p.Sum(q => q * (1 - q)) / Draws);
            Assert.True(Math.Abs(count / Draws - k) <= 4 * sd, $"bernoulli on {pair.Name}: mean count {count / Draws}, expected {k} ± {sd:G3}");
        }
    }

    /// <summary>Mean and standard error of ‖estimate − AB‖² over the draws.</summary>
    static (double Mean, double StdErr) MonteCarlo(Pairs.Pair pair, IColumnSampler sampler, int k)
    {
        var a = pair.Weights();
        var rng = new Generator(33);
        double s = 0, s2 = 0;
        for (int t = 0; t < Draws; t++)
        {
            double e = pair.SquaredError(sampler.Sample(a, k, rng));
            s += e; s2 += e * e;
        }
        double mean = s / Draws;
        return (mean, Math.Sqrt(Math.Max(0, s2 / Draws - mean * mean) / Draws));
    }

    [Fact]
    public void Top_k_keeps_the_largest_terms_and_its_error_is_bounded_by_the_dropped_weights()
    {
        foreach (var pair in Pairs.All())
            foreach (var keep in new[] { 0.1, 0.3, 0.5, 0.9 })
            {
                var a = pair.Weights();
                int k = K(pair, keep);
                var s = new TopKSampler().Sample(a, k, new Generator(1));
                Assert.Equal(k, s.Count);
                Assert.Null(s.Scales);
                Assert.Equal(s.Indices.Order().ToArray(), s.Indices);
                double smallestKept = s.Indices.Min(i => a[i]);
                Assert.All(Enumerable.Range(0, a.Length).Except(s.Indices), i => Assert.True(a[i] <= smallestKept));
                double err = Math.Sqrt(Pairs.SquaredDistance(pair.Estimate(s), pair.Exact()));
                Assert.True(err <= SamplingMath.TopKErrorBound(a, s.Indices) * (1 + 1e-12), $"{pair.Name} keep {keep}: error {err} above the bound");
            }
    }

    [Fact]
    public void Guards_all_zero_weights_full_k_and_non_finite_give_the_exact_product_and_k_is_capped_at_the_non_zero_count()
    {
        var rng = new Generator(1);
        foreach (var s in new IColumnSampler[] { new CrsSampler(), new BernoulliSampler(), new TopKSampler() })
        {
            Assert.True(s.Sample(new double[5], 2, rng).IsExact);
            Assert.True(s.Sample([1.0, 2, 3], 3, rng).IsExact);
            Assert.True(s.Sample([1.0, double.NaN, 3], 1, rng).IsExact);
            Assert.True(s.Sample([1.0, double.PositiveInfinity, 3], 1, rng).IsExact);
            Assert.Throws<ArgumentException>(() => s.Sample([1.0, 2], 0, rng));
        }
        double[] sparse = [0, 4, 0, 1, 0, 0];
        // Top-k and Bernoulli keep exactly the non-zero terms, unscaled: the exact product on two columns.
        Assert.Equal([1, 3], new TopKSampler().Sample(sparse, 5, rng).Indices);
        var b = new BernoulliSampler().Sample(sparse, 5, rng);
        Assert.Equal([1, 3], b.Indices);
        Assert.Equal([1f, 1f], b.Scales!);
        // CRS never draws a zero-weight term.
        for (int t = 0; t < 100; t++) Assert.All(new CrsSampler().Sample(sparse, 5, rng).Indices, i => Assert.True(sparse[i] > 0));
    }

    [Fact]
    public void Samples_repeat_exactly_for_a_seed()
    {
        var a = Pairs.Synthetic(4).Weights();
        foreach (var s in new IColumnSampler[] { new CrsSampler(), new BernoulliSampler(), new CrsSampler(0.1), new BernoulliSampler(0.1) })
        {
            var x = s.Sample(a, 20, new Generator(5));
            var y = s.Sample(a, 20, new Generator(5));
            Assert.Equal(x.Indices, y.Indices);
            Assert.Equal(x.Scales, y.Scales);
            Assert.NotEqual(x.Indices, s.Sample(a, 20, new Generator(6)).Indices);
        }
    }

    [Fact]
    public void Crs_merges_repeated_draws_into_one_scaled_column()
    {
        // Two terms, one with almost all the weight: 50 draws hit it about 49 times, kept once with scale c/(k·p).
        double[] a = [99, 1, 0];
        var s = new CrsSampler().Sample(a, 2, new Generator(3));
        Assert.Equal(s.Indices.Distinct().Count(), s.Count);
        Assert.Equal(s.Indices.Order().ToArray(), s.Indices);
        var p = SamplingMath.CrsProbabilities(a);
        // Σ scale_j·p_{i_j} = (draws)/k = 1: every draw contributes 1/k of probability-weighted mass.
        double mass = s.Indices.Select((i, j) => s.Scales![j] * p[i]).Sum();
        Assert.Equal(1, mass, 5);
    }
}
