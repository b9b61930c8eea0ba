using Frugal.Methods.Entropy;
using Frugal.Options;

namespace Frugal.Distributed.Compression;

/// <summary>Options of <see cref="EntropyCodedReduce"/> (--compress entropy; ../shared/METHODS.md §4.1, a PROPOSAL): the
/// "exchange.entropy" section of a run config.</summary>
public sealed record EntropyCodedReduceOptions
{
    /// <summary>b₀ of b = clip(b₀ + ⌈log₂(RMS(Δ)/RMS_ref)⌉, min_bits, max_bits), RMS_ref the largest RMS(Δ) sent so far:
    /// the bits while what is sent is at its largest.</summary>
    public int BaseBits { get; init; } = 4;
    public int MinBits { get; init; } = 1;
    public int MaxBits { get; init; } = 8;
    /// <summary>Add each rank's quantisation residual Δ − s·q to its next step's gradient (Seide et al. 2014): the
    /// coarse steps' error is sent later instead of lost.</summary>
    public bool ErrorFeedback { get; init; } = true;
    /// <summary>log₂ of the rANS frequency total (<see cref="Rans"/>).</summary>
    public int ScaleBits { get; init; } = Rans.DefaultScaleBits;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public EntropyCodedReduceOptions Validate()
    {
        OptionException.Require(MinBits is >= 1 and <= 16, "min_bits", $"must be in 1..16, got {MinBits}");
        OptionException.Require(MaxBits is >= 1 and <= 16, "max_bits", $"must be in 1..16, got {MaxBits}");
        OptionException.Require(MinBits <= MaxBits, "min_bits", $"must not exceed max_bits ({MaxBits}), got {MinBits}");
        OptionException.Require(BaseBits >= MinBits && BaseBits <= MaxBits, "base_bits", $"must be in min_bits..max_bits ({MinBits}..{MaxBits}), got {BaseBits}");
        OptionException.Require(ScaleBits >= Rans.MinScaleBits && ScaleBits <= Rans.MaxScaleBits && (1 << ScaleBits) / 2 >= SymbolQuantizer.Limit(MaxBits) * 2 + 1,
            "scale_bits", $"must be in {Rans.MinScaleBits}..{Rans.MaxScaleBits} with room for the {2 * SymbolQuantizer.Limit(MaxBits) + 1} levels of max_bits in half of 2^scale_bits, got {ScaleBits}");
        return this;
    }
}
