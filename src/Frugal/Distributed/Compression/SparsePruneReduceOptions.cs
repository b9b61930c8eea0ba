using Frugal.Methods.Compression;
using Frugal.Options;

namespace Frugal.Distributed.Compression;

/// <summary>Options of <see cref="SparsePruneReduce"/> (--compress prune; a PROPOSAL built on ../shared/METHODS.md §1's
/// stochastic pruning).</summary>
public sealed record SparsePruneReduceOptions
{
    /// <summary>Target fraction of zeros in each rank's weight gradient, per parameter, in (0, 1).</summary>
    public double Sparsity { get; init; } = 0.9;
    /// <summary>lognormal (METHODS.md's closed form from the fit of |g|) or empirical (the same sparsity equation solved
    /// on the fit's sample: hits the target whatever the distribution).</summary>
    public GradPruneThreshold Threshold { get; init; } = GradPruneThreshold.LogNormal;
    /// <summary>Keep each rank's pruning residual per bucket and add it to the next step's gradient.</summary>
    public bool ErrorFeedback { get; init; }
    /// <summary>Entries sampled per parameter for the fit (<see cref="GradientStatistics"/>).</summary>
    public int FitSampleSize { get; init; } = GradientStatistics.FitSampleSize;
    /// <summary>The KS statistics of the fit (they sort the sample) on a parameter's first fit of an epoch and then every
    /// this many fits.</summary>
    public int KsInterval { get; init; } = 16;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public SparsePruneReduceOptions Validate()
    {
        OptionException.Require(Sparsity > 0 && Sparsity < 1, "sparsity", $"must be in (0, 1), got {Sparsity}");
        OptionException.Require(Enum.IsDefined(Threshold), "threshold", $"must be one of {string.Join(", ", EnumNames<GradPruneThreshold>.All)}, got {Threshold}");
        OptionException.Require(FitSampleSize >= 16, "fit_sample_size", $"must be at least 16, got {FitSampleSize}");
        OptionException.Require(KsInterval >= 1, "ks_interval", $"must be at least 1, got {KsInterval}");
        return this;
    }
}
