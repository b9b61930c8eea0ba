using System.Text.Json.Serialization;
using Frugal.Options;

namespace Frugal.Distributed.Stragglers;

/// <summary>What the all-reduced gradient of a step with dropped micro-batches is divided by (../shared/METHODS.md §3).</summary>
public enum DropComputeNormalization
{
    /// <summary>The nominal N·M whatever was computed: dropped micro-batches contribute zeros (the reference code's).</summary>
    Nominal,
    /// <summary>The global count of micro-batches that contributed, carried as one extra element of the gradient
    /// buffer, so it costs no extra collective.</summary>
    Actual,
}

/// <summary>Which policy the options select; derived from <see cref="DropComputeOptions"/>, never written.</summary>
public enum DropComputeMode
{
    /// <summary>Nothing is dropped; the timer and the straggler injection still run (the synchronous baseline).</summary>
    Off,
    /// <summary>A threshold τ given in seconds.</summary>
    Fixed,
    /// <summary>τ chosen from the calibration steps by <see cref="AutoThreshold"/>.</summary>
    Auto,
    /// <summary>Whole gradients zeroed at random with probability <see cref="DropComputeOptions.DropRate"/>.</summary>
    Random,
}

/// <summary>
/// Options of <see cref="DropCompute"/> (Giladi et al., NeurIPS 2023; ../shared/METHODS.md §3): the "drop_compute"
/// section of a run config. A threshold given in seconds is fixed; none means automatic τ from the calibration steps;
/// a drop rate selects the random-drop mode of the paper's accuracy-vs-drop-rate experiments instead.
/// </summary>
public sealed record DropComputeOptions
{
    /// <summary>The compute threshold τ in seconds, the same on every rank; null: chosen automatically
    /// (<see cref="AutoThreshold"/>) after <see cref="WarmupSteps"/> + <see cref="CalibrationSteps"/> steps.</summary>
    public double? Threshold { get; init; }
    /// <summary>Steps at the start with neither dropping nor straggler injection (the reference's MIN_DROP_STEP = 5).</summary>
    public int WarmupSteps { get; init; } = 5;
    /// <summary>Automatic τ: the steps after the warm-up whose micro-batch latencies every rank records and all-gathers
    /// (the reference's steps 6–49).</summary>
    public int CalibrationSteps { get; init; } = 44;
    /// <summary>nominal (divide by N·M, the reference) or actual (by the global count of contributing micro-batches).</summary>
    public DropComputeNormalization Normalization { get; init; } = DropComputeNormalization.Nominal;
    /// <summary>Also check τ between a micro-batch's forward and its backward, discarding it when τ has passed (the
    /// reference does); otherwise only before each micro-batch.</summary>
    public bool CheckBeforeBackward { get; init; } = true;
    /// <summary>Random-drop mode when &gt; 0: with this probability per rank per step the rank's whole gradient is zeroed
    /// (still averaged over N). Excludes <see cref="Threshold"/>.</summary>
    public double DropRate { get; init; }
    /// <summary>Straggler injection F when &gt; 0: after each micro-batch of latency t, sleep X·t·0.5·F with X from
    /// <see cref="Stragglers.StragglerDelay"/> (mean 1), truncated so the step's compute never passes τ.</summary>
    public double StragglerDelay { get; init; }
    /// <summary>false: drop nothing (no threshold, no calibration, no random drop) but keep the timer and the straggler
    /// injection: the synchronous baseline under the same stragglers.</summary>
    public bool Drop { get; init; } = true;

    /// <summary>The policy these options select.</summary>
    [JsonIgnore]
    public DropComputeMode Mode => !Drop ? DropComputeMode.Off
        : DropRate > 0 ? DropComputeMode.Random
        : Threshold != null ? DropComputeMode.Fixed
        : DropComputeMode.Auto;

    /// <summary>The fewest micro-batches automatic τ works with: its candidates start at the 6th micro-batch's
    /// cumulative time.</summary>
    public const int AutoMinMicroBatches = AutoThreshold.FirstCandidateMicroBatch;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public DropComputeOptions Validate()
    {
        if (Threshold is { } t)
            OptionException.Require(t > 0 && double.IsFinite(t), "threshold", $"must be a positive number of seconds, got {t}");
        OptionException.Require(WarmupSteps >= 0, "warmup_steps", $"must be at least 0, got {WarmupSteps}");
        OptionException.Require(CalibrationSteps >= 1, "calibration_steps", $"must be at least 1, got {CalibrationSteps}");
        OptionException.Require(DropRate >= 0 && DropRate < 1, "drop_rate", $"must be in [0, 1), got {DropRate}");
        OptionException.Require(DropRate == 0 || Threshold == null, "drop_rate",
            "random dropping excludes a threshold; give drop_rate or threshold, not both");
        OptionException.Require(StragglerDelay >= 0 && double.IsFinite(StragglerDelay), "straggler_delay",
            $"must be a finite number ≥ 0, got {StragglerDelay}");
        return this;
    }

    /// <summary><see cref="Validate()"/>, and checks that <paramref name="microBatches"/> (the run's micro_batches)
    /// suits the mode: automatic τ needs at least <see cref="AutoMinMicroBatches"/>.</summary>
    public DropComputeOptions Validate(int microBatches)
    {
        Validate();
        OptionException.Require(microBatches >= 1, "micro_batches", $"must be at least 1, got {microBatches}");
        OptionException.Require(Mode != DropComputeMode.Auto || microBatches >= AutoMinMicroBatches, "micro_batches",
            $"automatic DropCompute threshold needs at least {AutoMinMicroBatches} micro-batches per step (its candidates " +
            $"start at the {AutoMinMicroBatches}th micro-batch's time), got {microBatches}; raise micro_batches or give a threshold in seconds");
        return this;
    }
}
