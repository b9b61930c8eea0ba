using Frugal.Options;

namespace Frugal.Distributed.Stragglers;

/// <summary>
/// One run of <see cref="VirtualClockSimulation"/>: N workers on a virtual clock, each accumulating M micro-batches
/// per step, with latencies replayed from <see cref="MeasuredLatencies"/> (resampled) or drawn Normal(μ, (cv·μ)²)
/// clipped at 0, plus the straggler sleeps of <see cref="StragglerDelay"/>.
/// </summary>
public sealed record VirtualClockSettings
{
    public int Workers { get; init; } = 16;
    public int MicroBatches { get; init; } = 12;
    /// <summary>Measured steps (with and without τ, on the same latencies); automatic τ simulates its calibration
    /// steps before them.</summary>
    public int Steps { get; init; } = 200;
    /// <summary>μ of a micro-batch's compute, seconds (unused with <see cref="MeasuredLatencies"/>).</summary>
    public double MeanSeconds { get; init; } = 0.05;
    /// <summary>σ/μ of a micro-batch's compute (unused with <see cref="MeasuredLatencies"/>).</summary>
    public double Cv { get; init; } = 0.2;
    /// <summary>Measured micro-batch latencies in seconds, drawn uniformly with replacement; null: the normal model.</summary>
    public IReadOnlyList<double>? MeasuredLatencies { get; init; }
    /// <summary>The straggler factor F of <see cref="Stragglers.StragglerDelay"/> (0: none).</summary>
    public double StragglerDelay { get; init; }
    /// <summary>τ in seconds; null: <see cref="AutoThreshold"/> on <see cref="CalibrationSteps"/> simulated steps.</summary>
    public double? Threshold { get; init; }
    public int CalibrationSteps { get; init; } = 44;
    /// <summary>T_comm: per-step communication (and optimizer) time after the slowest worker, seconds.</summary>
    public double CommSeconds { get; init; }
    /// <summary>The forward's share of a micro-batch's compute: where the check before backward sits.</summary>
    public double ForwardShare { get; init; } = 1.0 / 3;
    public bool CheckBeforeBackward { get; init; } = true;
    public ulong Seed { get; init; }

    public VirtualClockSettings Validate()
    {
        OptionException.Require(Workers >= 1, "workers", $"must be at least 1, got {Workers}");
        OptionException.Require(MicroBatches >= 1, "micro_batches", $"must be at least 1, got {MicroBatches}");
        OptionException.Require(Threshold != null || MicroBatches >= AutoThreshold.FirstCandidateMicroBatch, "micro_batches",
            $"automatic threshold needs at least {AutoThreshold.FirstCandidateMicroBatch} micro-batches per step, got {MicroBatches}; raise it or give a threshold in seconds");
        OptionException.Require(Steps >= 1, "steps", $"must be at least 1, got {Steps}");
        OptionException.Require(CalibrationSteps >= 1, "calibration_steps", $"must be at least 1, got {CalibrationSteps}");
        if (MeasuredLatencies == null)
        {
            OptionException.Require(MeanSeconds > 0 && double.IsFinite(MeanSeconds), "mean_seconds", $"must be a positive number, got {MeanSeconds}");
            OptionException.Require(Cv >= 0 && double.IsFinite(Cv), "cv", $"must be a finite number ≥ 0, got {Cv}");
        }
        else
        {
            OptionException.Require(MeasuredLatencies.Count > 0, "latencies", "holds no latency");
            OptionException.Require(MeasuredLatencies.All(t => t >= 0 && double.IsFinite(t)), "latencies", "must be finite and ≥ 0");
        }
        OptionException.Require(StragglerDelay >= 0 && double.IsFinite(StragglerDelay), "straggler_delay", $"must be a finite number ≥ 0, got {StragglerDelay}");
        if (Threshold is { } t) OptionException.Require(t > 0 && double.IsFinite(t), "threshold", $"must be a positive number of seconds, got {t}");
        OptionException.Require(CommSeconds >= 0 && double.IsFinite(CommSeconds), "comm_seconds", $"must be a finite number ≥ 0, got {CommSeconds}");
        OptionException.Require(ForwardShare > 0 && ForwardShare <= 1, "forward_share", $"must be in (0, 1], got {ForwardShare}");
        return this;
    }
}
