using Frugal.Options;

namespace Frugal.Methods.Robustness;

/// <summary>Options of <see cref="QuantizationAwareTraining"/> (LSQ, ../shared/METHODS.md §5); the "qat" section of a run config.</summary>
public sealed record QatOptions
{
    /// <summary>Bits of the conv/linear weights.</summary>
    public int Bits { get; init; } = 4;
    /// <summary>Bits of the conv/linear inputs (null = <see cref="Bits"/>; 0 = float activations).</summary>
    public int? ActivationBits { get; init; }
    /// <summary>The first and last layer train at least this many bits (as they are evaluated).</summary>
    public int EdgeBits { get; init; } = 8;
    /// <summary>Learning rate of the steps (plain SGD with momentum 0.9 on LSQ's scaled step gradients).</summary>
    public double StepLr { get; init; } = 0.01;

    internal int? InputBits => ActivationBits is 0 ? null : ActivationBits ?? Bits;

    public QatOptions Validate()
    {
        OptionException.Require(Bits is >= 2 and <= 16, "bits", $"must be in 2..16, got {Bits}");
        OptionException.Require(ActivationBits is null or 0 or (>= 2 and <= 16), "activation_bits", $"must be 0 (float) or in 2..16, got {ActivationBits}");
        OptionException.Require(EdgeBits is >= 2 and <= 16, "edge_bits", $"must be in 2..16, got {EdgeBits}");
        OptionException.Require(StepLr > 0 && double.IsFinite(StepLr), "step_lr", $"must be positive, got {StepLr}");
        return this;
    }
}
