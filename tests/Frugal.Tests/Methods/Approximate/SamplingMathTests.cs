using Frugal.Methods.Approximate;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Approximate;

public class SamplingMathTests
{
    [Fact]
    public void Keep_count_follows_the_reference_rule()
    {
        Assert.Equal(16, SamplingMath.KeepCount(32, 0.5, 10));
        Assert.Equal(10, SamplingMath.KeepCount(32, 0.1, 10));     // minimal_k
        Assert.Equal(3, SamplingMath.KeepCount(3, 0.5, 10));       // a 3-channel stem stays exact
        Assert.Equal(1568, SamplingMath.KeepCount(3136, 0.5, 10));
        Assert.Equal(64, SamplingMath.KeepCount(64, 1.0, 10));
        Assert.Throws<ArgumentException>(() => SamplingMath.KeepCount(10, 0, 1));
        Assert.Throws<ArgumentException>(() => SamplingMath.KeepCount(10, 0.5, 0));
    }

    static double[] HeavyTailed(ulong seed, int n, int zeros = 0)
    {
        var g = new Generator(seed);
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = Math.Exp(2 * (g.NextDouble() * 2 - 1) * 1.5);   // spans e^±3: several clip
        for (int i = 0; i < zeros; i++) a[g.NextInt(n)] = 0;
        return a;
    }

    /// <summary>The optimum's KKT form: Σp = k, 0 ≤ p ≤ 1, p = β·a on the unclipped terms, β·a ≥ 1 on the clipped ones.</summary>
    [Fact]
    public void Water_filling_probabilities_sum_to_k_are_at_most_one_and_proportional_below_the_clip()
    {
        foreach (var (a, k) in new[] { (HeavyTailed(1, 50), 10), (HeavyTailed(2, 200, zeros: 30), 100), (HeavyTailed(3, 7), 6),
                     ([1.0, 1, 1, 1], 2), ([100.0, 1, 1, 1, 1], 2), ([5.0, 0, 0, 3], 2) })
        {
            var p = SamplingMath.WaterFilling(a, k);
            Assert.Equal(k, p.Sum(), 9);
            Assert.All(p, v => Assert.InRange(v, 0, 1));
            double? beta = null;
            for (int i = 0; i < a.Length; i++)
            {
                if (a[i] == 0) { Assert.Equal(0, p[i]); continue; }
                if (p[i] < 1) { beta ??= p[i] / a[i]; Assert.Equal(beta.Value, p[i] / a[i], 9); }
            }
            for (int i = 0; i < a.Length; i++)
                if (p[i] == 1 && beta != null) Assert.True(beta * a[i] >= 1 - 1e-12, $"clipped term {i} has β·a = {beta * a[i]} < 1");
        }
        Assert.Equal([1.0, 0.25, 0.25, 0.25, 0.25], SamplingMath.WaterFilling([100.0, 1, 1, 1, 1], 2));
        Assert.Throws<ArgumentException>(() => SamplingMath.WaterFilling([1.0, 0, 0], 2));   // k above the non-zero count
    }

    /// <summary>No feasible perturbation (moving probability mass between two unclipped terms) lowers the variance.</summary>
    [Fact]
    public void Water_filling_minimises_the_bernoulli_error()
    {
        var a = HeavyTailed(4, 40);
        var p = SamplingMath.WaterFilling(a, 12);
        double best = SamplingMath.BernoulliExpectedSquaredError(a, p);
        var g = new Generator(5);
        for (int t = 0; t < 200; t++)
        {
            int i = g.NextInt(40), j = g.NextInt(40);
            double d = 0.02 * g.NextDouble();
            var q = (double[])p.Clone();
            q[i] -= d; q[j] += d;
            if (i == j || q[i] <= 0 || q[j] > 1) continue;
            Assert.True(SamplingMath.BernoulliExpectedSquaredError(a, q) >= best - 1e-9);
        }
        // And it beats the reference code's single clip at the same k.
        Assert.True(best <= SamplingMath.BernoulliExpectedSquaredError(a, SamplingMath.ReferenceBernoulliProbabilities(a, 12, 0)));
    }

    [Fact]
    public void Reference_probabilities_clip_once_and_mix_uniform()
    {
        double[] a = [8, 1, 1, 0];
        var p = SamplingMath.ReferenceBernoulliProbabilities(a, 2, 0.1);
        // min(1, 2·a/10) = [1, 0.2, 0.2, 0], then 0.9·p + 0.1/4.
        Assert.Equal([0.925, 0.205, 0.205, 0.025], p.Select(v => Math.Round(v, 12)).ToArray());
        Assert.Equal(0.9 * 1.4 + 0.1, p.Sum(), 12);   // expected count below k = 2
        var c = SamplingMath.CrsProbabilities(a, 0.1);
        Assert.Equal(1, c.Sum(), 12);
        Assert.Equal(0.9 * 0.8 + 0.025, c[0], 12);
    }
}
