using MathNet.Numerics.Distributions;

namespace Frugal.Distributed.Stragglers;

/// <summary>
/// DropCompute's analysis (Giladi et al., NeurIPS 2023, §3; ../shared/METHODS.md §3). N workers each accumulate M
/// micro-batches of i.i.d. latency (mean μ, standard deviation σ), so a worker's compute time is T_n ≈ Normal(Mμ, Mσ²)
/// and a synchronous step takes max_n T_n + T_comm. With a threshold τ a worker stops at τ, so a step takes
/// max_n min(T_n, τ) + T_comm = min(max_n T_n, τ) + T_comm, and completes micro-batch m when its cumulative time
/// C_m ~ Normal(mμ, mσ²) is ≤ τ.
/// </summary>
public static class DropComputeTheory
{
    /// <summary>
    /// The paper's asymptotic E[max_n T_n] ≈ Mμ + σ√M·(√(2 ln N) − (ln ln N + ln 4π)/(2√(2 ln N))), the extreme-value
    /// expansion of the largest of N normals; exact (Mμ) at N = 1, a slight underestimate for small N.
    /// </summary>
    public static double ExpectedMax(int workers, int microBatches, double mean, double std)
    {
        Check(workers, microBatches);
        if (workers == 1) return microBatches * mean;
        double a = Math.Sqrt(2 * Math.Log(workers));
        double b = (Math.Log(Math.Log(workers)) + Math.Log(4 * Math.PI)) / (2 * a);
        return microBatches * mean + std * Math.Sqrt(microBatches) * (a - b);
    }

    /// <summary>
    /// E[min(max_n T_n, τ)] under the normal model, by quadrature: with F(t) = Φ((t − Mμ)/(σ√M)),
    /// E[min(Y, τ)] = a + ∫_a^τ (1 − F(t)^N) dt for any a below Y's support (a = Mμ − 12σ√M). τ = +∞ gives the exact
    /// expected maximum of N normals, against which <see cref="ExpectedMax"/> is an approximation.
    /// </summary>
    public static double ExpectedCappedMax(int workers, int microBatches, double mean, double std, double threshold = double.PositiveInfinity)
    {
        Check(workers, microBatches);
        double center = microBatches * mean, spread = std * Math.Sqrt(microBatches);
        if (spread == 0) return Math.Min(center, threshold);
        double lo = center - 12 * spread, hi = Math.Min(threshold, center + 12 * spread);
        if (hi <= lo) return threshold;
        const int intervals = 2048;   // Simpson's rule; the integrand is smooth
        double h = (hi - lo) / intervals, sum = 0;
        for (int i = 0; i <= intervals; i++)
        {
            double t = lo + i * h;
            double tail = 1 - Math.Pow(Normal.CDF(center, spread, t), workers);
            sum += (i == 0 || i == intervals ? 1 : i % 2 == 1 ? 4 : 2) * tail;
        }
        return lo + sum * h / 3;
    }

    /// <summary>E[M̃] = Σ_{m=1..M} Φ((τ − mμ)/(σ√m)): the expected number of micro-batches a worker completes by τ.</summary>
    public static double ExpectedCompleted(int microBatches, double mean, double std, double threshold)
    {
        Check(1, microBatches);
        double completed = 0;
        for (int m = 1; m <= microBatches; m++)
            completed += std == 0 ? (m * mean <= threshold ? 1 : 0) : Normal.CDF(m * mean, std * Math.Sqrt(m), threshold);
        return completed;
    }

    /// <summary>The drop rate r = 1 − E[M̃]/M.</summary>
    public static double DropRate(int microBatches, double mean, double std, double threshold) =>
        1 - ExpectedCompleted(microBatches, mean, std, threshold) / microBatches;

    /// <summary>
    /// The effective speed-up S_eff(τ) = (1 − r)·E[T]/E[T̃(τ)]: micro-batches completed per second with τ over the
    /// synchronous rate, where E[T] = E[max_n T_n] + T_comm and E[T̃(τ)] = E[min(max_n T_n, τ)] + T_comm, both from
    /// <see cref="ExpectedCappedMax"/> so that S_eff(∞) = 1 exactly.
    /// </summary>
    public static double EffectiveSpeedup(int workers, int microBatches, double mean, double std, double threshold, double commSeconds = 0)
    {
        double sync = ExpectedCappedMax(workers, microBatches, mean, std) + commSeconds;
        double capped = ExpectedCappedMax(workers, microBatches, mean, std, threshold) + commSeconds;
        return (1 - DropRate(microBatches, mean, std, threshold)) * sync / capped;
    }

    static void Check(int workers, int microBatches)
    {
        if (workers < 1) throw new ArgumentOutOfRangeException(nameof(workers), workers, "DropCompute theory: at least one worker");
        if (microBatches < 1) throw new ArgumentOutOfRangeException(nameof(microBatches), microBatches, "DropCompute theory: at least one micro-batch");
    }
}
