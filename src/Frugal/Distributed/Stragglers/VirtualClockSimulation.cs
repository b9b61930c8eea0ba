namespace Frugal.Distributed.Stragglers;

/// <summary>
/// DropCompute beyond one machine, on a virtual clock (issue 12 item 6; ../shared/METHODS.md §3): N workers (up to
/// thousands) replay micro-batch latencies and the injected straggler sleeps, and each step is timed
/// max_n compute_n + T_comm, once synchronously and once with τ on the same latencies. A worker with τ follows
/// <see cref="DropCompute"/> exactly: it checks before each micro-batch and after its forward (the first
/// <see cref="VirtualClockSettings.ForwardShare"/> of its compute), discards the micro-batch in flight when τ has
/// passed, and truncates its sleeps at τ. Automatic τ runs <see cref="AutoThreshold"/> on simulated calibration steps
/// first. Every draw is keyed by (seed, worker, step, micro-batch), so a run is deterministic and worker n sees the
/// same latencies whatever N is.
/// </summary>
public static class VirtualClockSimulation
{
    const ulong LatencyStream = 0x4C4154454E435921UL;   // "LATENCY!"

    public static VirtualClockResult Run(VirtualClockSettings settings)
    {
        var s = settings.Validate();
        int n = s.Workers, m = s.MicroBatches;
        var delay = new StragglerDelay(s.Seed);
        var measured = s.MeasuredLatencies?.ToArray();
        var (mean, std) = LatencyMoments(s, measured);
        var compute = new double[m];
        var sleep = new double[m];

        long firstStep = 0;
        double tau;
        AutoThreshold.Choice? calibration = null;
        if (s.Threshold is { } fixedTau) tau = fixedTau;
        else
        {
            // Calibration: synchronous steps whose latencies (sleep included) every worker logs, then the automatic τ.
            int steps = s.CalibrationSteps;
            var cumulative = new double[(long)n * steps * m];
            for (int step = 0; step < steps; step++)
                for (int w = 0; w < n; w++)
                {
                    Draw(s, delay, measured, w, step, compute, sleep);
                    var row = cumulative.AsSpan((w * steps + step) * m, m);
                    for (int k = 0; k < m; k++) row[k] = compute[k] + sleep[k];
                }
            AutoThreshold.Accumulate(cumulative, m);
            calibration = AutoThreshold.Choose(cumulative, n, steps, m, s.CommSeconds);
            tau = calibration.Value.Threshold;
            firstStep = steps;
        }

        double syncTime = 0, dropTime = 0;
        long completed = 0;
        for (long step = firstStep; step < firstStep + s.Steps; step++)
        {
            double slowestSync = 0, slowestDrop = 0;
            for (int w = 0; w < n; w++)
            {
                Draw(s, delay, measured, w, step, compute, sleep);
                double sync = 0;
                for (int k = 0; k < m; k++) sync += compute[k] + sleep[k];
                slowestSync = Math.Max(slowestSync, sync);
                slowestDrop = Math.Max(slowestDrop, WithThreshold(s, tau, compute, sleep, ref completed));
            }
            syncTime += slowestSync + s.CommSeconds;
            dropTime += slowestDrop + s.CommSeconds;
        }

        double nominal = (double)n * m * s.Steps;
        return new VirtualClockResult(n, mean, std,
            SyncStepSeconds: syncTime / s.Steps,
            TheoryExpectedMax: DropComputeTheory.ExpectedMax(n, m, mean, std) + s.CommSeconds,
            Threshold: tau,
            DropStepSeconds: dropTime / s.Steps,
            TheoryDropStepSeconds: DropComputeTheory.ExpectedCappedMax(n, m, mean, std, tau) + s.CommSeconds,
            DropRate: 1 - completed / nominal,
            TheoryDropRate: DropComputeTheory.DropRate(m, mean, std, tau),
            Speedup: completed / dropTime / (nominal / syncTime),
            TheorySpeedup: DropComputeTheory.EffectiveSpeedup(n, m, mean, std, tau, s.CommSeconds),
            Calibration: calibration);
    }

    /// <summary>One worker's step under τ, as <see cref="DropCompute"/> runs it; returns its compute time and adds
    /// its completed micro-batches to <paramref name="completed"/>.</summary>
    static double WithThreshold(VirtualClockSettings s, double tau, double[] compute, double[] sleep, ref long completed)
    {
        double clock = 0;
        for (int k = 0; k < compute.Length; k++)
        {
            if (clock >= tau) break;
            double forwardEnd = clock + s.ForwardShare * compute[k];
            if (s.CheckBeforeBackward && forwardEnd >= tau) return forwardEnd;
            clock += compute[k];
            completed++;
            double left = Math.Max(0, tau - clock);
            if (sleep[k] > 0 && sleep[k] >= left) return clock + left;   // the sleep reaches τ: the budget is spent
            clock += sleep[k];
        }
        return clock;
    }

    /// <summary>Worker <paramref name="worker"/>'s compute times and (untruncated) sleeps of <paramref name="step"/>.</summary>
    static void Draw(VirtualClockSettings s, StragglerDelay delay, double[]? measured, int worker, long step, double[] compute, double[] sleep)
    {
        for (int k = 0; k < compute.Length; k++)
        {
            compute[k] = ComputeTime(s, measured, worker, step, k);
            sleep[k] = delay.Sleep(compute[k], s.StragglerDelay, worker, step, k);
        }
    }

    /// <summary>The compute time of one micro-batch: a measured one drawn uniformly, or μ(1 + cv·Z) clipped at 0.</summary>
    internal static double ComputeTime(VirtualClockSettings s, double[]? measured, int worker, long step, int microBatch) =>
        measured != null
            ? measured[(int)(CounterRandom.Uniform(s.Seed, LatencyStream, worker, step, microBatch) * measured.Length)]
            : Math.Max(0, s.MeanSeconds * (1 + s.Cv * CounterRandom.Normal(s.Seed, LatencyStream, worker, step, microBatch)));

    /// <summary>
    /// μ and σ of a whole micro-batch's latency L = t·(1 + 0.5·F·X), compute t independent of the straggler factor X
    /// (E[X] = 1): E[L] = E[t](1 + 0.5F), E[L²] = E[t²](1 + F + 0.25F²·E[X²]).
    /// </summary>
    static (double Mean, double Std) LatencyMoments(VirtualClockSettings s, double[]? measured)
    {
        double mt, mt2;
        if (measured != null)
        {
            mt = measured.Average();
            mt2 = measured.Average(t => t * t);
        }
        else
        {
            mt = s.MeanSeconds;
            mt2 = mt * mt * (1 + s.Cv * s.Cv);
        }
        double f = s.StragglerDelay;
        double mean = mt * (1 + 0.5 * f);
        double square = mt2 * (1 + f + 0.25 * f * f * StragglerDelay.MeanSquare);
        return (mean, Math.Sqrt(Math.Max(0, square - mean * mean)));
    }
}
