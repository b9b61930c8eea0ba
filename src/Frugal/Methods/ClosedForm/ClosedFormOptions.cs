using Frugal.Nn;
using Frugal.Options;

namespace Frugal.Methods.ClosedForm;

/// <summary>How a round sets the hidden layer's targets H* from the output fit (../shared/METHODS.md §4.5).</summary>
public enum HiddenTargetRule
{
    /// <summary>H* = H + (T − H̃·W₂)·W₂⁺: the least change to the current H that fits the targets.</summary>
    MinimalChange,
    /// <summary>H* = (T − b₂)·W₂⁺, as the PROPOSAL states: the least-norm H that fits them (rank ≤ c, discarding the rest of H).</summary>
    MinimumNorm,
}

/// <summary>
/// Options of <see cref="ClosedFormMlp"/>, the closed-form fit of a one-hidden-layer MLP (../shared/METHODS.md §4.5,
/// PROPOSAL). The defaults fit the toy problems; on real data λ matters most (a tiny λ overfits as the hidden width
/// approaches the number of training examples).
/// </summary>
public sealed record ClosedFormOptions
{
    /// <summary>Hidden units p.</summary>
    public int HiddenWidth { get; init; } = 256;
    /// <summary>λ of every ridge solve: the output layer, the pseudo-inverse of W₂ and the hidden-layer refit.</summary>
    public double Lambda { get; init; } = 1e-4;
    /// <summary>Alternating rounds: each refits W₁ from f⁻¹(H*) and then W₂; 0 = the random hidden layer's ridge fit only.</summary>
    public int Rounds { get; init; } = 2;
    /// <summary>How the hidden targets H* are set; minimum_norm is the PROPOSAL's literal rule.</summary>
    public HiddenTargetRule HiddenTargets { get; init; } = HiddenTargetRule.MinimalChange;
    /// <summary>The hidden activation f; it must be invertible (tanh, sigmoid or leaky_relu).</summary>
    public ActivationKind Activation { get; init; } = ActivationKind.Tanh;
    /// <summary>W₁ starts as Gaussian with standard deviation init_scale/√d (d inputs), b₁ with init_scale.</summary>
    public double InitScale { get; init; } = 1.0;
    /// <summary>ε: hidden targets are clipped to f's range shrunk by ε before f⁻¹ (atanh(±1) is infinite).</summary>
    public double ClipMargin { get; init; } = 1e-3;
    /// <summary>Fit biases (a ones column appended to each layer's inputs); the bias is penalised by λ like the weights.</summary>
    public bool Bias { get; init; } = true;
    /// <summary>Seed of W₁'s initialisation.</summary>
    public ulong Seed { get; init; }

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public ClosedFormOptions Validate()
    {
        OptionException.Require(HiddenWidth >= 1, "hidden_width", $"must be at least 1, got {HiddenWidth}");
        OptionException.Require(Lambda >= 0 && double.IsFinite(Lambda), "lambda", $"must be ≥ 0 and finite, got {Lambda}");
        OptionException.Require(Rounds >= 0, "rounds", $"must be ≥ 0, got {Rounds}");
        OptionException.Require(InverseActivation.IsInvertible(Activation), "activation",
            $"{EnumNames<ActivationKind>.Name(Activation)} is not invertible; use tanh, sigmoid or leaky_relu");
        OptionException.Require(InitScale > 0 && double.IsFinite(InitScale), "init_scale", $"must be positive, got {InitScale}");
        OptionException.Require(ClipMargin > 0 && ClipMargin < 0.5, "clip_margin", $"must be in (0, 0.5), got {ClipMargin}");
        return this;
    }
}
