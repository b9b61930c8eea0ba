using Frugal.Options;

namespace Frugal.Methods.LocalLearning;

/// <summary>Where a stage's inputs, the frozen prefix's outputs, come from.</summary>
public enum ActivationCacheMode
{
    /// <summary>Cached when the data are deterministic (no augmentation) and the cache fits <see cref="LayerwiseOptions.CacheLimitMb"/>.</summary>
    Auto,
    /// <summary>Always cached (deterministic data only: augmented data would be frozen at one draw).</summary>
    On,
    /// <summary>Recomputed each batch by the frozen prefix, without a graph.</summary>
    Off,
}

/// <summary>
/// Options of <see cref="LayerwiseTraining"/> (METHODS.md §4.3, a PROPOSAL): greedy stage-by-stage training with
/// auxiliary heads; the "layerwise" section of a run config.
/// </summary>
public sealed record LayerwiseOptions
{
    /// <summary>k of the auxiliary heads (<see cref="AuxiliaryHead"/>): 0 = global average pool + linear; k convs
    /// 3×3-BN-ReLU before it (Belilovsky et al. 2019 needed k = 1–3 to approach end-to-end accuracy).</summary>
    public int AuxDepth { get; init; }
    /// <summary>Epochs per stage; 0 = the run's epochs split over the stages (<see cref="EpochsPerStage"/>).</summary>
    public int StageEpochs { get; init; }
    public ActivationCacheMode Cache { get; init; } = ActivationCacheMode.Auto;
    /// <summary>auto caches only when the train and test sets' cached features together fit in this many MiB.</summary>
    public double CacheLimitMb { get; init; } = 256;
    /// <summary>Interlayer regularisation by linear over-parameterisation: each stage's conv/linear W trains as B·A of
    /// inner width ⌈factor · min(d_in, d_out)⌉ and collapses into W after the stage (0 = off; otherwise ≥ 1).</summary>
    public double Overparameterize { get; init; }
    /// <summary>Two-layer window fine-tune: after stage l ≥ 2, stages l−1 and l train together with head l for this
    /// many epochs (0 = off).</summary>
    public int WindowEpochs { get; init; }

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public LayerwiseOptions Validate()
    {
        OptionException.Require(AuxDepth >= 0, "aux_depth", $"must be ≥ 0 (0 = pool + linear), got {AuxDepth}");
        OptionException.Require(StageEpochs >= 0, "stage_epochs", $"must be ≥ 0 (0 = the run's epochs split over the stages), got {StageEpochs}");
        OptionException.Require(Enum.IsDefined(Cache), "cache", $"must be one of {string.Join(", ", EnumNames<ActivationCacheMode>.All)}");
        OptionException.Require(CacheLimitMb >= 0 && double.IsFinite(CacheLimitMb), "cache_limit_mb", $"must be ≥ 0, got {CacheLimitMb}");
        OptionException.Require(Overparameterize == 0 || (Overparameterize >= 1 && Overparameterize <= 16), "overparameterize",
            $"must be 0 (off) or an inner-width factor in [1, 16] (below 1 the product could not represent the layer), got {Overparameterize}");
        OptionException.Require(WindowEpochs >= 0, "window_epochs", $"must be ≥ 0 (0 = off), got {WindowEpochs}");
        return this;
    }

    /// <summary>Each of <paramref name="stages"/> stages' epochs: <see cref="StageEpochs"/>, or else the run's
    /// <paramref name="epochs"/> split evenly, the remainder one each to the earliest stages (whose features every
    /// later stage builds on), and at least 1 each (so fewer run epochs than stages train one epoch per stage).</summary>
    public int[] EpochsPerStage(int epochs, int stages) =>
        Enumerable.Range(0, stages).Select(s => StageEpochs > 0 ? StageEpochs : Math.Max(1, epochs / stages + (s < epochs % stages ? 1 : 0))).ToArray();
}
