using Frugal.Methods.Approximate;
using Frugal.Options;

namespace Frugal.Distributed.Compression;

/// <summary>
/// Options of <see cref="TopKCrsReduce"/> (--compress topk-crs; METHODS.md §2, Distributed Top-k CRS). Keep, min_k and
/// layers mean what they mean for forward sampling (<see cref="ApproxOptions"/>), so one setting serves both and a run
/// sampling forward by weight norms on the same layers exchanges exactly the gradient it computed
/// (<see cref="Matching"/>).
/// </summary>
public sealed record TopKCrsReduceOptions
{
    /// <summary>Fraction of each sampled layer's input channels/features whose gradient travels,
    /// k = min(n, max(min_k, ⌊keep·n⌋)), in (0, 1].</summary>
    public double Keep { get; init; } = 0.5;
    /// <summary>Never keep fewer than this many; a layer with n ≤ min_k (a thin stem) travels whole.</summary>
    public int MinK { get; init; } = 10;
    /// <summary>Which layers: null = every conv/linear except the first and the classifier; otherwise comma-separated
    /// layer names as in the state dict, each optionally name=keep, or "all" (<see cref="ApproxLayerSelection"/>).</summary>
    public string? Layers { get; init; }
    /// <summary>Whether Linear layers of the default or "all" set are sampled (false: conv layers only); a layer named
    /// in <see cref="Layers"/> is sampled either way.</summary>
    public bool Linear { get; init; } = true;
    /// <summary>Every this many reduces of a bucket (from its first), all-gather a hash of each layer's S and fail with
    /// the layer's name if ranks disagree (weights out of sync); 0 = never. One tiny all-gather per check.</summary>
    public int CheckEvery { get; init; } = 100;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public TopKCrsReduceOptions Validate()
    {
        OptionException.Require(Keep > 0 && Keep <= 1, "keep", $"must be in (0, 1], got {Keep}");
        OptionException.Require(MinK >= 1, "min_k", $"must be at least 1, got {MinK}");
        OptionException.Require(CheckEvery >= 0, "check_every", $"must be 0 (never) or a positive step count, got {CheckEvery}");
        OptionException.Require(Layers == null || Layers.Trim().Length > 0, "layers", "is empty; leave it unset for the default layers or name them");
        return this;
    }

    /// <summary>The exchange that matches forward sampling with <paramref name="approx"/> (same keep, min_k, layers).</summary>
    public static TopKCrsReduceOptions Matching(ApproxOptions approx) =>
        new() { Keep = approx.Keep, MinK = approx.MinK, Layers = approx.Layers };
}
