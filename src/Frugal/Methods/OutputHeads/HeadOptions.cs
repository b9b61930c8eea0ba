using System.Text.Json.Serialization;
using Frugal.Options;

namespace Frugal.Methods.OutputHeads;

/// <summary>The output heads of ../shared/METHODS.md §4.2 (Øland, arXiv 1707.04199): what the linear output y of the
/// last layer is trained against one-hot targets t with; each is named by the error it back-propagates.</summary>
public enum HeadKind
{
    /// <summary>Softmax + cross-entropy, the baseline: error softmax(y) − t.</summary>
    Softmax,
    /// <summary>Linear output + ½‖y − t‖²: error e = y − t.</summary>
    [JsonStringEnumMemberName("linear-mse")] LinearMse,
    /// <summary>Exponentiated output without the normaliser, loss Σ exp(y) − t·y: error exp(y) − t.</summary>
    Exp,
    /// <summary>PROPOSAL: linear output with an exponentiated error sign(e)(exp(α|e|) − 1).</summary>
    [JsonStringEnumMemberName("exp-boost")] ExpBoost,
    /// <summary>PROPOSAL: linear output with the cubed, sign-preserving error e³.</summary>
    Cube,
}

/// <summary>
/// Options of an output head (<see cref="OutputHead"/>, ../shared/METHODS.md §4.2); the "head" section of a run config.
/// The clip c bounds what the head's transform sees: e = y − t is clamped to [−c, c] (for exp, y to at most c), and the
/// loss continues linearly beyond, so its gradient is exactly the transformed clipped error.
/// </summary>
public sealed record HeadOptions
{
    public HeadKind Kind { get; init; } = HeadKind.Softmax;
    /// <summary>α of exp-boost's error sign(e)(exp(α|e|) − 1); near e = 0 it is α·e.</summary>
    public double Alpha { get; init; } = 1.0;
    /// <summary>The error clip c (0 = none). With one-hot targets an error beyond 2 means an output far past either
    /// target, where exp and e³ would otherwise blow up. Softmax needs none: its error is already in [−1, 1].</summary>
    public double Clip { get; init; } = 2.0;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public HeadOptions Validate()
    {
        OptionException.Require(Enum.IsDefined(Kind), "kind", $"is not one of {string.Join(", ", EnumNames<HeadKind>.All)}");
        OptionException.Require(Alpha > 0 && double.IsFinite(Alpha), "alpha", $"must be positive, got {Alpha}");
        OptionException.Require(Clip >= 0 && double.IsFinite(Clip), "clip", $"must be ≥ 0 (0 = no clip), got {Clip}");
        return this;
    }
}
