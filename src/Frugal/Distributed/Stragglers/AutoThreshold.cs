namespace Frugal.Distributed.Stragglers;

/// <summary>
/// DropCompute's automatic threshold (Giladi et al., NeurIPS 2023, §4; ../shared/METHODS.md §3), as a pure function of
/// the calibration steps' cumulative micro-batch times C[n,s,m] (N workers × S steps × M micro-batches). For 200
/// candidates τ evenly spaced from the smallest cumulative time at the 6th micro-batch to the largest total, per step
/// <c>gain_s = max_n C[n,s,M] − max{C[n,s,m] : C &lt; τ}</c>, <c>g_s = gain_s / (max_n C[n,s,M] + overhead)</c>,
/// <c>drop_s</c> = share of (n, m) with C ≥ τ, and <c>score(τ) = mean_s (1 − drop_s)/(1 − g_s) − 1</c>, the predicted
/// effective speed-up; the argmax (the first on ties) wins. Every rank gets the same all-gathered C and computes the
/// same τ bit for bit.
/// </summary>
public static class AutoThreshold
{
    public const int Candidates = 200;
    /// <summary>The candidate grid starts at this micro-batch's cumulative time (1-based), so M must reach it.</summary>
    public const int FirstCandidateMicroBatch = 6;

    /// <summary>The chosen τ (seconds, like the input) and what the calibration data predicts for it: the score
    /// (effective speed-up − 1), the share of micro-batches dropped and the mean share of step time saved.</summary>
    public readonly record struct Choice(double Threshold, double Score, double DropRate, double TimeSaved);

    /// <summary>Turns per-micro-batch latencies [n, s, m] into cumulative times C[n, s, m], in place.</summary>
    public static void Accumulate(Span<double> latencies, int microBatches)
    {
        if (microBatches < 1 || latencies.Length % microBatches != 0)
            throw new ArgumentException($"auto threshold: {latencies.Length} latencies are not whole steps of {microBatches} micro-batches");
        for (int row = 0; row < latencies.Length; row += microBatches)
            for (int m = 1; m < microBatches; m++) latencies[row + m] += latencies[row + m - 1];
    }

    /// <summary>
    /// The best τ for cumulative times <paramref name="cumulative"/> laid out [n, s, m] (C non-decreasing in m) and a
    /// per-step <paramref name="overhead"/> (communication and optimizer time: measured step time − mean max compute).
    /// </summary>
    public static Choice Choose(ReadOnlySpan<double> cumulative, int workers, int steps, int microBatches, double overhead)
    {
        if (microBatches < FirstCandidateMicroBatch)
            throw new ArgumentException($"auto threshold: needs at least {FirstCandidateMicroBatch} micro-batches per step, got {microBatches}");
        if (workers < 1 || steps < 1 || cumulative.Length != (long)workers * steps * microBatches)
            throw new ArgumentException($"auto threshold: {cumulative.Length} times for {workers} workers × {steps} steps × {microBatches} micro-batches");
        if (!double.IsFinite(overhead) || overhead < 0) throw new ArgumentOutOfRangeException(nameof(overhead), overhead, "auto threshold: overhead must be finite and ≥ 0");

        // Per step, every worker's cumulative times sorted together: the count below τ is a binary search, and the
        // largest time below τ over all workers is max_n max{C[n,s,m] : C < τ} (a worker's times rise with m).
        int perStep = workers * microBatches;
        var sorted = new double[steps][];
        var rawTime = new double[steps];
        double lowest = double.PositiveInfinity, highest = double.NegativeInfinity;
        for (int s = 0; s < steps; s++)
        {
            var values = new double[perStep];
            for (int n = 0; n < workers; n++)
            {
                var row = cumulative.Slice((n * steps + s) * microBatches, microBatches);
                if (!double.IsFinite(row[0]) || row[0] < 0) throw new ArgumentException($"auto threshold: worker {n} step {s}: times must be finite and ≥ 0");
                for (int m = 1; m < microBatches; m++)
                    if (!(row[m] >= row[m - 1]) || !double.IsFinite(row[m]))
                        throw new ArgumentException($"auto threshold: worker {n} step {s}: cumulative times must be finite and non-decreasing");
                row.CopyTo(values.AsSpan(n * microBatches));
                lowest = Math.Min(lowest, row[FirstCandidateMicroBatch - 1]);
                highest = Math.Max(highest, row[^1]);
            }
            Array.Sort(values);
            sorted[s] = values;
            rawTime[s] = values[^1] + overhead;
        }

        var best = new Choice(highest, double.NegativeInfinity, 0, 0);
        for (int k = 0; k < Candidates; k++)
        {
            double tau = lowest + (highest - lowest) * k / (Candidates - 1);
            double score = 0, dropped = 0, saved = 0;
            for (int s = 0; s < steps; s++)
            {
                var values = sorted[s];
                int below = LowerBound(values, tau);
                double kept = below > 0 ? values[below - 1] : 0;
                double g = rawTime[s] > 0 ? (values[^1] - kept) / rawTime[s] : 0;
                double drop = (double)(perStep - below) / perStep;
                score += (1 - drop) / (1 - g);
                dropped += drop;
                saved += g;
            }
            score = score / steps - 1;
            // NaN (a step with g = 1 and nothing kept) never wins.
            if (score > best.Score) best = new Choice(tau, score, dropped / steps, saved / steps);
        }
        return best;
    }

    /// <summary>The number of entries of ascending <paramref name="values"/> strictly below <paramref name="x"/>.</summary>
    static int LowerBound(double[] values, double x)
    {
        int lo = 0, hi = values.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (values[mid] < x) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}
