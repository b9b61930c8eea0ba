using Frugal.Options;

namespace Frugal.Methods.Approximate;

/// <summary>Where an approximate layer samples (METHODS.md §2).</summary>
public enum ApproxMode
{
    /// <summary>Sample input features/channels in the forward pass; backward then touches only the kept slices, so
    /// all three GEMMs (or convolutions) shrink by k/n.</summary>
    Forward,
    /// <summary>Exact forward; dX samples output features/channels, dW samples batch examples.</summary>
    Backward,
    /// <summary>Forward sampling, then backward sampling of the smaller product.</summary>
    Hybrid,
}

/// <summary>What the forward sampler scores the input features/channels by (METHODS.md §2).</summary>
public enum ApproxScore
{
    /// <summary>a_i = ‖X[:,i]‖·‖W[:,i]‖, the norm of term i of the product (the paper's).</summary>
    ActivationsAndWeights,
    /// <summary>a_i = ‖W[:,i]‖ alone: a pure function of the weights, identical on every rank of synchronous SGD, so
    /// forward Top-k here selects the same S as the topk-crs gradient exchange and that exchange loses nothing
    /// (METHODS.md §2, Distributed Top-k CRS).</summary>
    Weights,
}

/// <summary>
/// How one layer is approximated: the sampler, the keep ratio r (k = min(n, max(minimal_k, ⌊r·n⌋)) for every sampled
/// dimension: input features in forward, output features and batch examples in backward) and the mode.
/// </summary>
public sealed record ApproxSettings
{
    public IColumnSampler Sampler { get; init; }
    public double Keep { get; init; }
    public int MinimalK { get; init; }
    public ApproxMode Mode { get; init; }
    /// <summary>What the forward sampling scores columns by; backward sampling always scores both operands.</summary>
    public ApproxScore Score { get; init; }

    public ApproxSettings(IColumnSampler sampler, double keep = 0.5, int minimalK = 10, ApproxMode mode = ApproxMode.Forward,
        ApproxScore score = ApproxScore.ActivationsAndWeights)
    {
        OptionException.Require(keep > 0 && keep <= 1, "keep", $"must be in (0, 1], got {keep}");
        OptionException.Require(minimalK >= 1, "min_k", $"must be at least 1, got {minimalK}");
        OptionException.Require(score == ApproxScore.ActivationsAndWeights || mode != ApproxMode.Backward, "score",
            "weights scores the forward sampling, and mode backward has none; use mode forward or hybrid");
        Sampler = sampler; Keep = keep; MinimalK = minimalK; Mode = mode; Score = score;
    }
}
