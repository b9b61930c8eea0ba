using Frugal.Methods.LocalLearning;
using Frugal.Options;

namespace Frugal.Runs;

/// <summary>
/// Layer-wise training of a run config (METHODS.md §4.3, a PROPOSAL): with this section the run trains the model
/// stage by stage (<see cref="LayerwiseTraining"/>, built by <see cref="RunBuilder.BuildLayerwise(TrainOptions)"/>) instead of end to end.
/// </summary>
public sealed partial record TrainOptions
{
    /// <summary>Greedy layer-wise training with auxiliary heads; null = end-to-end training.</summary>
    public LayerwiseOptions? Layerwise { get; init; }

    void ValidateLayerwise()
    {
        if (Layerwise == null) return;
        OptionException.InSection("layerwise", Layerwise.Validate);
        // Methods attach hooks and swap layers once per model; each phase's trainer would attach them again.
        string? method = GradPrune != null ? "grad_prune" : GradFormat != null ? "grad_format" : Approx != null ? "approx"
            : Kure != null ? "kure" : Qat != null ? "qat" : EntropyReport != null ? "entropy_report" : LogGradNorm ? "log_grad_norm"
            : Partitions != null ? "partitions" : null;
        OptionException.Require(method == null, "layerwise", $"does not combine with {method} yet; train one or the other");
        OptionException.Require(MicroBatches == 1 && DropCompute == null, "layerwise", "runs in one process without micro-batches or drop_compute");
        OptionException.Require(Layerwise.Cache != ActivationCacheMode.On || (CropPadding == 0 && !HorizontalFlip), "layerwise.cache",
            "on needs a run without augmentation (cached features would freeze one draw of it); use auto or off");
    }
}
