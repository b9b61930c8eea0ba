using Frugal.Methods.Compression;
using Frugal.Options;

namespace Frugal.Distributed.Compression;

/// <summary>Options of <see cref="SparsePruneReduce"/> (--compress prune; a PROPOSAL built on ../shared/METHODS.md §1's
/// stochastic pruning).</summary>
public sealed record SparsePruneReduceOptions
{
    /// <summary>Target fraction of zeros in each rank's weight gradient, per parameter, in (0, 1).</summary>
    public double Sparsity { get; init; } = 0.9;
    /// <summary>stochastic (METHODS.md §1's unbiased pruning: below α, ±α with probability |g|/α, else 0) or deterministic
    /// (hard threshold: below α becomes 0; biased, the classic sparsification that error feedback corrects).</summary>
    public GradPruneMode Mode { get; init; } = GradPruneMode.Stochastic;
    /// <summary>lognormal (METHODS.md's closed form from the fit of |g|) or empirical (the same sparsity equation solved
    /// on the fit's sample: hits the target whatever the distribution).</summary>
    public GradPruneThreshold Threshold { get; init; } = GradPruneThreshold.LogNormal;
    /// <summary>Keep each rank's pruning residual per bucket and add it to the next step's gradient; needs mode
    /// deterministic and threshold empirical. Error feedback needs a contractive compressor, E‖T(g) − g‖² ≤ (1 − δ)‖g‖²
    /// (Karimireddy et al. 2019): hard thresholding is one, stochastic pruning is not (E‖T(g) − g‖² =
    /// Σ_{|g|&lt;α} |g|(α − |g|) exceeds ‖g‖² at high sparsity; at 85% and σ = 1, cos 0.63 means 1.5‖g‖²), so its residual,
    /// and with it the threshold fitted to g + e, grows without bound. And g + e is no longer lognormal: with the
    /// lognormal threshold the accumulated error of hard thresholding still grew linearly in a test (0.19‖Σg‖ per step,
    /// against 0.33 without feedback), with the empirical one it stayed at 2‖Σg‖ over 800 steps.</summary>
    public bool ErrorFeedback { get; init; }
    /// <summary>Entries sampled per parameter for the fit (<see cref="GradientStatistics"/>).</summary>
    public int FitSampleSize { get; init; } = 1 << 16;
    /// <summary>The KS statistics of the fit (they sort the sample) on a parameter's first fit of an epoch and then every
    /// this many fits.</summary>
    public int KsInterval { get; init; } = 16;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public SparsePruneReduceOptions Validate()
    {
        OptionException.Require(Sparsity > 0 && Sparsity < 1, "sparsity", $"must be in (0, 1), got {Sparsity}");
        OptionException.Require(Mode is GradPruneMode.Stochastic or GradPruneMode.Deterministic, "mode", $"must be stochastic or deterministic, got {Mode}");
        OptionException.Require(!ErrorFeedback || (Mode == GradPruneMode.Deterministic && Threshold == GradPruneThreshold.Empirical), "error_feedback",
            "needs mode deterministic and threshold empirical: stochastic pruning is not contractive, and the gradient plus its " +
            "residual is not lognormal, so with either the residual grows without bound");
        OptionException.Require(Enum.IsDefined(Threshold), "threshold", $"must be one of {string.Join(", ", EnumNames<GradPruneThreshold>.All)}, got {Threshold}");
        OptionException.Require(FitSampleSize >= 16, "fit_sample_size", $"must be at least 16, got {FitSampleSize}");
        OptionException.Require(KsInterval >= 1, "ks_interval", $"must be at least 1, got {KsInterval}");
        return this;
    }
}
