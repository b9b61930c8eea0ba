using Frugal.Ops;
using Frugal.Options;

namespace Frugal.Methods.Compression;

/// <summary>Where the scale 2^(c − μ̄₂) of the low-bit cast comes from.</summary>
public enum LowBitScale
{
    /// <summary>Each layer's own mean log2|g| (the paper's).</summary>
    Layer,
    /// <summary>One mean pooled over all hooked layers, weighted by their non-zero counts.</summary>
    Global,
}

/// <summary>
/// Options of <see cref="LowBitGradients"/> (../shared/METHODS.md §1); the "grad_format" section of a run config.
/// </summary>
public sealed record LowBitGradientsOptions
{
    /// <summary>fpN or fpNfn (N bits, exponent bits fitted per layer, N in 4..8), eXmY, eXmYfn (e.g. e4m3fn) or e5m10.</summary>
    public string Format { get; init; } = "fp6";
    /// <summary>nearest (round to nearest even) or stochastic.</summary>
    public Rounding Rounding { get; init; } = Rounding.NearestEven;
    /// <summary>layer (scale 2^(−μ̄₂−3) per layer) or global (one scale for all layers).</summary>
    public LowBitScale Scale { get; init; } = LowBitScale.Layer;

    /// <summary>The parsed <see cref="Format"/>.</summary>
    internal GradientFormatSpec Spec => GradientFormatSpec.Parse(Format);

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public LowBitGradientsOptions Validate()
    {
        _ = Spec;
        return this;
    }
}
