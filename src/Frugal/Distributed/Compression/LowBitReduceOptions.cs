using Frugal.Methods.Compression;
using Frugal.Ops;
using Frugal.Options;

namespace Frugal.Distributed.Compression;

/// <summary>Options of <see cref="LowBitReduce"/> (--compress fp8 / fp6 / fp4 / eXmY…; ../shared/METHODS.md §1 formats).</summary>
public sealed record LowBitReduceOptions
{
    /// <summary>fpN or fpNfn (N bits in 4..8, exponent bits chosen per bucket from σ₂ of log2|g| by METHODS.md's table),
    /// or one fixed format: eXmY (IEEE-like, e.g. e5m2), eXmYfn (no infinity, e.g. e4m3fn), e5m10.</summary>
    public string Format { get; init; } = "fp8";
    /// <summary>nearest (round to nearest even) or stochastic (unbiased: the reduced sum's expectation is the exact
    /// sum); both rounds of the exchange use it.</summary>
    public Rounding Rounding { get; init; } = Rounding.NearestEven;
    /// <summary>Keep each rank's encoding residual per bucket and add it to the next step's gradient (error feedback).</summary>
    public bool ErrorFeedback { get; init; }

    /// <summary>The parsed <see cref="Format"/>.</summary>
    internal GradientFormatSpec Spec => GradientFormatSpec.Parse(Format);

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public LowBitReduceOptions Validate()
    {
        _ = Spec;
        OptionException.Require(Enum.IsDefined(Rounding), "rounding", $"must be one of {string.Join(", ", EnumNames<Rounding>.All)}, got {Rounding}");
        return this;
    }
}
