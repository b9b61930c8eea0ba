using Frugal.Distributed.Stragglers;

namespace Frugal.Tests.Distributed.Stragglers;

/// <summary>The injection model of METHODS.md §3: a log-normal over 1…999 normalised to mean 1 (median ≈ 0.62,
/// p90 ≈ 2.2), keyed by global rank.</summary>
public class StragglerDelayTests
{
    [Fact]
    public void Factors_have_mean_one_median_062_and_p90_22()
    {
        var delay = new StragglerDelay(7);
        const int n = 200_000;
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = delay.Draw(i % 16, i / 16 / 12, i / 16 % 12);
        Array.Sort(x);
        // sd(X) ≈ 1.3, so the mean's standard error is ≈ 0.003; order statistics of a fine grid (steps of 0.011).
        Assert.InRange(x.Average(), 0.985, 1.015);
        Assert.InRange(x[n / 2], 0.59, 0.65);
        Assert.InRange(x[(int)(0.9 * n)], 2.1, 2.3);
        Assert.InRange(x[(int)(0.99 * n)], 5.3, 6.7);
        Assert.InRange(x.Average(v => v * v), StragglerDelay.MeanSquare * 0.95, StragglerDelay.MeanSquare * 1.05);
    }

    [Fact]
    public void Ranks_differ_and_each_rank_is_reproducible()
    {
        var a = new StragglerDelay(3);
        var b = new StragglerDelay(3);
        double[] Draws(StragglerDelay d, int rank) => Enumerable.Range(0, 60).Select(i => d.Draw(rank, i / 12, i % 12)).ToArray();
        Assert.Equal(Draws(a, 5), Draws(b, 5));
        Assert.NotEqual(Draws(a, 0), Draws(a, 1));
        Assert.NotEqual(Draws(a, 8), Draws(new StragglerDelay(4), 8));
        // Ranks 0 and 8 would be the same local rank on two nodes of 8: the reference repeated their delays.
        Assert.NotEqual(Draws(a, 0), Draws(a, 8));
    }

    [Fact]
    public void Sleep_is_x_times_half_the_micro_batch_times_the_factor()
    {
        var d = new StragglerDelay(1);
        Assert.Equal(d.Draw(2, 3, 4) * 0.04 * 0.5 * 1.5, d.Sleep(0.04, 1.5, 2, 3, 4), 15);
        Assert.Equal(0, d.Sleep(0.04, 0, 2, 3, 4));
    }
}
