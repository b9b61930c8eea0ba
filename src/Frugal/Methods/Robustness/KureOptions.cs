using Frugal.Options;

namespace Frugal.Methods.Robustness;

/// <summary>
/// Options of <see cref="KurtosisRegularization"/> (KURE, ../shared/METHODS.md §5); the "kure" section of a run config.
/// The defaults are the paper's; <see cref="ConvOnly"/> and <see cref="KurtosisStd.Unbiased"/> give the reference code's.
/// </summary>
public sealed record KureOptions
{
    /// <summary>λ of loss = task + λ·R.</summary>
    public double Lambda { get; init; } = 1.0;
    /// <summary>K_T, the kurtosis each regularised tensor is pulled to: 1.8 is a uniform distribution's.</summary>
    public double KurtosisTarget { get; init; } = 1.8;
    /// <summary>Which layers' weights: null = every conv/linear but the first; "all"; or state-dict layer names,
    /// comma-separated (e.g. "3,7").</summary>
    public string? Layers { get; init; }
    /// <summary>The reference code's choice: Conv2d weights only (after the first conv), no linear layer.</summary>
    public bool ConvOnly { get; init; }
    /// <summary>population (the paper's σ) or unbiased (torch.std, the reference code's).</summary>
    public KurtosisStd Std { get; init; } = KurtosisStd.Population;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public KureOptions Validate()
    {
        OptionException.Require(Lambda > 0 && double.IsFinite(Lambda), "lambda", $"must be positive, got {Lambda}");
        // Any distribution's kurtosis is at least 1 (two equal point masses).
        OptionException.Require(KurtosisTarget >= 1 && double.IsFinite(KurtosisTarget), "kurtosis_target", $"must be at least 1 (no distribution has a lower kurtosis), got {KurtosisTarget}");
        OptionException.Require(Layers == null || Layers.Trim().Length > 0, "layers", "names no layer (give layer names, all, or leave it out for all but the first)");
        return this;
    }
}
