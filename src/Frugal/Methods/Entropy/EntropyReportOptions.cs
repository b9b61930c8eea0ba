using Frugal.Options;

namespace Frugal.Methods.Entropy;

/// <summary>
/// Options of <see cref="EntropyReport"/> (../shared/METHODS.md §4.1, a PROPOSAL); the "entropy_report" section of a
/// run config. Each quantity is quantised twice: with a fixed step, and with the RMS-relative step s = 3·RMS/2^(b−1).
/// </summary>
public sealed record EntropyReportOptions
{
    /// <summary>b of the RMS-relative step s = 3·RMS(x)/2^(b−1), clipped at ±2^(b−1) levels (weights and updates alike).</summary>
    public int Bits { get; init; } = 4;
    /// <summary>Fixed step of the weights: 2⁻⁸.</summary>
    public double WeightStep { get; init; } = 1.0 / 256;
    /// <summary>Fixed step of the updates; null = per layer 3·RMS_max/2^(b−1), RMS_max the largest RMS of the layer's
    /// one-step updates measured so far (a step on the scale of that layer's updates, fixed once they stop growing:
    /// the entropy then falls as the updates shrink, as with the exchange's adaptive bits).</summary>
    public double? UpdateStep { get; init; }
    /// <summary>One-step updates measured per epoch (evenly spaced steps, the first included); their figures are the
    /// mean over those steps.</summary>
    public int UpdateSamples { get; init; } = 8;
    /// <summary>Which layers' weights: null or "all" = every conv/linear; or state-dict layer names, comma-separated.</summary>
    public string? Layers { get; init; }

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public EntropyReportOptions Validate()
    {
        OptionException.Require(Bits is >= 1 and <= 16, "bits", $"must be in 1..16, got {Bits}");
        OptionException.Require(WeightStep > 0 && double.IsFinite(WeightStep), "weight_step", $"must be positive, got {WeightStep}");
        OptionException.Require(UpdateStep is null || (UpdateStep > 0 && double.IsFinite(UpdateStep.Value)), "update_step",
            $"must be positive (or left out for a step from each layer's first update), got {UpdateStep}");
        OptionException.Require(UpdateSamples >= 1, "update_samples", $"must be at least 1, got {UpdateSamples}");
        OptionException.Require(Layers == null || Layers.Trim().Length > 0, "layers", "names no layer (give layer names, all, or leave it out for all)");
        return this;
    }
}
