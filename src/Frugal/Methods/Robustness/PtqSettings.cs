using Frugal.Options;

namespace Frugal.Methods.Robustness;

/// <summary>One post-training quantisation point (../shared/METHODS.md §5): weight and activation bit widths (null =
/// float), the bits of the first and last layer, the step perturbation r and power-of-two steps.</summary>
public sealed record PtqSettings
{
    /// <summary>Bits of the conv/linear weights (null = float).</summary>
    public int? WeightBits { get; init; }
    /// <summary>Bits of the conv/linear inputs (null = float).</summary>
    public int? ActivationBits { get; init; }
    /// <summary>The first and the last layer's weights and inputs use at least this many bits (the paper's 8).</summary>
    public int EdgeBits { get; init; } = 8;
    /// <summary>r of Δ = r·Δ̃: every weight step is the MSE-optimal step times r (activations keep theirs).</summary>
    public double StepScale { get; init; } = 1;
    /// <summary>Round every step to the neighbouring power of two with the lower MSE.</summary>
    public bool PowerOfTwo { get; init; }
    /// <summary>Activation values sampled per layer for its step search (evenly strided over the calibration batches).</summary>
    public int ActivationSamples { get; init; } = 1 << 18;

    public PtqSettings Validate()
    {
        OptionException.Require(WeightBits is null or (>= 2 and <= 16), "weight_bits", $"must be in 2..16, got {WeightBits}");
        OptionException.Require(ActivationBits is null or (>= 2 and <= 16), "act_bits", $"must be in 2..16, got {ActivationBits}");
        OptionException.Require(EdgeBits is >= 2 and <= 16, "edge_bits", $"must be in 2..16, got {EdgeBits}");
        OptionException.Require(StepScale > 0 && double.IsFinite(StepScale), "step_scale", $"must be positive, got {StepScale}");
        OptionException.Require(ActivationSamples >= 1024, "activation_samples", $"must be at least 1024, got {ActivationSamples}");
        return this;
    }
}
