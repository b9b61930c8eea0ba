using Frugal.Distributed.Stragglers;
using Frugal.Tensors;

namespace Frugal.Tests.Distributed.Stragglers;

/// <summary>The automatic τ of METHODS.md §3 against its definition evaluated naively, and on cases whose answer is
/// known: a heavy straggler tail is cut, uniform workers give nothing to gain.</summary>
public class AutoThresholdTests
{
    /// <summary>The definition, candidate by candidate and step by step, with no sorting.</summary>
    static AutoThreshold.Choice Naive(double[] c, int workers, int steps, int m, double overhead)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (int n = 0; n < workers; n++)
            for (int s = 0; s < steps; s++) { lo = Math.Min(lo, c[(n * steps + s) * m + 5]); hi = Math.Max(hi, c[(n * steps + s) * m + m - 1]); }
        var best = new AutoThreshold.Choice(hi, double.NegativeInfinity, 0, 0);
        for (int k = 0; k < 200; k++)
        {
            double tau = lo + (hi - lo) * k / 199, score = 0, drops = 0, saved = 0;
            for (int s = 0; s < steps; s++)
            {
                double total = 0, kept = 0;
                int dropped = 0;
                for (int n = 0; n < workers; n++)
                    for (int j = 0; j < m; j++)
                    {
                        double v = c[(n * steps + s) * m + j];
                        total = Math.Max(total, v);
                        if (v < tau) kept = Math.Max(kept, v); else dropped++;
                    }
                double g = (total - kept) / (total + overhead), drop = (double)dropped / (workers * m);
                score += (1 - drop) / (1 - g);
                drops += drop;
                saved += g;
            }
            if (score / steps - 1 > best.Score) best = new AutoThreshold.Choice(tau, score / steps - 1, drops / steps, saved / steps);
        }
        return best;
    }

    static double[] Latencies(int workers, int steps, int m, double mean, double cv, ulong seed)
    {
        var g = new Generator(seed);
        var x = new double[workers * steps * m];
        for (int i = 0; i < x.Length; i++)
        {
            double u1 = 1 - g.NextDouble(), u2 = g.NextDouble();
            x[i] = Math.Max(0, mean * (1 + cv * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
        }
        return x;
    }

    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(5, 0.01)]
    [InlineData(16, 0.002)]
    public void Matches_the_definition(int workers, double overhead)
    {
        const int steps = 7, m = 8;
        var c = Latencies(workers, steps, m, 0.01, 0.5, (ulong)workers);
        AutoThreshold.Accumulate(c, m);
        var fast = AutoThreshold.Choose(c, workers, steps, m, overhead);
        var naive = Naive(c, workers, steps, m, overhead);
        Assert.Equal(naive.Threshold, fast.Threshold, 12);
        Assert.Equal(naive.Score, fast.Score, 12);
        Assert.Equal(naive.DropRate, fast.DropRate, 12);
        Assert.Equal(naive.TimeSaved, fast.TimeSaved, 12);
    }

    [Fact]
    public void A_heavy_straggler_tail_is_cut()
    {
        // 8 workers × 10 steps × 12 micro-batches of 1 s; in each step one worker's last micro-batch takes 100 s.
        const int workers = 8, steps = 10, m = 12;
        var x = Enumerable.Repeat(1.0, workers * steps * m).ToArray();
        for (int s = 0; s < steps; s++) x[((s % workers) * steps + s) * m + m - 1] = 100;
        AutoThreshold.Accumulate(x, m);
        var choice = AutoThreshold.Choose(x, workers, steps, m, overhead: 5);
        // With 5 s of overhead per step: τ in (12, 111] drops only the straggler's last micro-batch (1/96) and the step
        // takes 12 + 5 s instead of 111 + 5; stopping earlier (k of 12 micro-batches) scores (k/12)·116/(k + 5) − 1, less.
        Assert.InRange(choice.Threshold, 12, 13);
        Assert.Equal(1.0 / 96, choice.DropRate, 12);
        Assert.Equal((95.0 / 96) * 116 / 17 - 1, choice.Score, 9);
        Assert.True((11.0 / 12) * 116 / 16 - 1 < choice.Score);
    }

    [Fact]
    public void Uniform_workers_have_nothing_to_gain()
    {
        // Identical workers: any τ drops as much compute as it saves time, so the score is 0 at best, and an overhead
        // makes every drop a loss.
        const int workers = 4, steps = 5, m = 12;
        var x = Enumerable.Repeat(0.05, workers * steps * m).ToArray();
        AutoThreshold.Accumulate(x, m);
        Assert.InRange(AutoThreshold.Choose(x, workers, steps, m, 0).Score, -1e-9, 1e-9);
        Assert.True(AutoThreshold.Choose(x, workers, steps, m, 0.1).Score < 0);

        // Normal latencies with a small spread and a realistic overhead: little to gain, and little dropped.
        var y = Latencies(16, 44, m, 0.05, 0.05, 3);
        AutoThreshold.Accumulate(y, m);
        var choice = AutoThreshold.Choose(y, 16, 44, m, 0.1);
        Assert.InRange(choice.Score, -0.01, 0.03);
        Assert.True(choice.DropRate < 0.1, $"drop rate {choice.DropRate}");
    }

    [Fact]
    public void Bad_input_is_refused()
    {
        var c = new double[2 * 3 * 5];
        Assert.Throws<ArgumentException>(() => AutoThreshold.Choose(c, 2, 3, 5, 0));
        var d = new double[2 * 3 * 6];
        d[3] = 1;   // worker 0 step 0: C falls after its 4th micro-batch
        Assert.Throws<ArgumentException>(() => AutoThreshold.Choose(d, 2, 3, 6, 0));
        Assert.Throws<ArgumentException>(() => AutoThreshold.Choose(d, 2, 2, 6, 0));
    }
}
