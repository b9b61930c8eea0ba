namespace Frugal.Distributed.Stragglers;

/// <summary>
/// The straggler model of DropCompute's reference code (../shared/METHODS.md §3): after each micro-batch of latency
/// t a worker sleeps X·t·0.5·F, with X drawn from a log-normal over the whole numbers 1…999 (p(ℓ) ∝ exp(−(ln ℓ − 4)²/2)/ℓ,
/// i.e. μ = 4, σ = 1) divided by its mean, so E[X] = 1 (median ≈ 0.62, p90 ≈ 2.2, p99 ≈ 6) and the mean sleep is
/// 0.5·F·t. X is keyed by (seed, global rank, step, micro-batch), so ranks differ (the reference keyed by local rank,
/// repeating delays across nodes) and a rank's delays are reproducible.
/// </summary>
public sealed class StragglerDelay(ulong seed)
{
    const ulong Stream = 0x5354524147474C45UL;   // "STRAGGLE": apart from every other keyed draw of the same seed
    const int Lengths = 999;
    const double Mu = 4, Sigma = 1;

    static readonly double[] Factors, Cumulative;

    static StragglerDelay()
    {
        var p = new double[Lengths];
        double total = 0, mean = 0;
        for (int l = 1; l <= Lengths; l++)
        {
            double z = (Math.Log(l) - Mu) / Sigma;
            p[l - 1] = Math.Exp(-0.5 * z * z) / l;
            total += p[l - 1];
        }
        for (int l = 1; l <= Lengths; l++) mean += l * p[l - 1] / total;
        Factors = new double[Lengths];
        Cumulative = new double[Lengths];
        double c = 0, squares = 0;
        for (int i = 0; i < Lengths; i++)
        {
            Factors[i] = (i + 1) / mean;
            c += p[i] / total;
            Cumulative[i] = c;
            squares += Factors[i] * Factors[i] * p[i] / total;
        }
        Cumulative[^1] = 1;
        MeanSquare = squares;
    }

    /// <summary>E[X²] of the model (E[X] = 1), for the latency moments of the theory.</summary>
    public static double MeanSquare { get; }

    /// <summary>The factor X ≥ 0 (mean 1) of <paramref name="rank"/>'s micro-batch <paramref name="microBatch"/> in
    /// <paramref name="step"/>; the same arguments give the same X.</summary>
    public double Draw(int rank, long step, int microBatch) =>
        Quantile(CounterRandom.Uniform(seed, Stream, rank, step, microBatch));

    /// <summary>The sleep X·t·0.5·F after a micro-batch of <paramref name="microBatchSeconds"/> at delay factor
    /// <paramref name="delayFactor"/>, before any truncation at τ.</summary>
    public double Sleep(double microBatchSeconds, double delayFactor, int rank, long step, int microBatch) =>
        delayFactor == 0 ? 0 : Draw(rank, step, microBatch) * microBatchSeconds * 0.5 * delayFactor;

    /// <summary>The smallest factor whose cumulative probability reaches <paramref name="u"/> ∈ [0, 1).</summary>
    public static double Quantile(double u)
    {
        int i = Array.BinarySearch(Cumulative, u);
        if (i < 0) i = ~i;
        return Factors[Math.Min(i, Lengths - 1)];
    }
}
