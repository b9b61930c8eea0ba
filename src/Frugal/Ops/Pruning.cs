using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Magnitude pruning of gradients (../shared/METHODS.md §1): stochastic (unbiased), hard threshold, and top-k.
/// These are not differentiable ops: they transform gradients inside backward hooks, so they record no graph.
/// Each returns a fresh tensor (a hook's incoming gradient may be shared, e.g. by both inputs of an Add) and what
/// the pass measured. Only <see cref="PruneStochastic"/> keeps E[T(g)] = g; the other two are biased baselines.
/// </summary>
public static class Pruning
{
    /// <summary>
    /// Stochastic pruning at threshold α: |g| ≥ α unchanged; |g| &lt; α becomes α·sign(g) with probability |g|/α,
    /// else 0 (Chmiel et al. 2021, §4), so E[T(g)] = g. The uniforms come from (seed, element index), so a seed
    /// gives the same result on every backend. α = 0 leaves g unchanged.
    /// </summary>
    public static (Tensor Pruned, PruneStats Stats) PruneStochastic(this Tensor g, float threshold, ulong seed) =>
        Run(PruneKind.Stochastic, g, threshold, seed, "prune_stochastic");

    /// <summary>Hard thresholding: entries with |g| &lt; α become 0 (biased: E[T(g)] ≠ g).</summary>
    public static (Tensor Pruned, PruneStats Stats) PruneThreshold(this Tensor g, float threshold) =>
        Run(PruneKind.Threshold, g, threshold, 0, "prune_threshold");

    /// <summary>Keeps the <paramref name="keep"/> largest magnitudes, zeroes the rest (biased). Ties at the k-th
    /// magnitude are all kept, so exactly k survive when that magnitude is unique.</summary>
    public static (Tensor Pruned, PruneStats Stats) PruneTopK(this Tensor g, long keep) =>
        Run(PruneKind.Threshold, g, TopKThreshold(g, keep), 0, "prune_topk");

    /// <summary>
    /// The k-th largest |g| (float.MaxValue for k = 0; 0 for k ≥ numel), i.e. the hard threshold that keeps k entries.
    /// Exact selection on the host: a two-pass radix select on the magnitude bits (non-negative floats order like
    /// their bit patterns), O(n) with no worst case. NaN counts as larger than every number.
    /// </summary>
    public static float TopKThreshold(this Tensor g, long keep)
    {
        if (keep < 0) throw new ArgumentException($"topk_threshold: keep must be ≥ 0, got {keep}");
        int n = g.Numel;
        if (keep >= n) return 0;
        if (keep == 0) return float.MaxValue;
        var values = g.ToArray();
        // Pass 1 on the high 16 bits, pass 2 on the low 16 bits within the bucket holding the k-th largest.
        var hist = new int[1 << 16];
        foreach (var v in values) hist[Magnitude(v) >> 16]++;
        long rank = keep;
        int high = (1 << 16) - 1;
        for (; high > 0 && rank > hist[high]; high--) rank -= hist[high];
        Array.Clear(hist);
        foreach (var v in values)
        {
            uint b = Magnitude(v);
            if (b >> 16 == high) hist[b & 0xFFFF]++;
        }
        int low = (1 << 16) - 1;
        for (; low > 0 && rank > hist[low]; low--) rank -= hist[low];
        float t = BitConverter.UInt32BitsToSingle(((uint)high << 16) | (uint)low);
        return float.IsNaN(t) || float.IsInfinity(t) ? float.MaxValue : t;
    }

    static uint Magnitude(float v) => BitConverter.SingleToUInt32Bits(v) & 0x7FFFFFFFu;

    static (Tensor, PruneStats) Run(PruneKind kind, Tensor g, float threshold, ulong seed, string op)
    {
        if (!(threshold >= 0) || float.IsInfinity(threshold))
            throw new ArgumentException($"{op}: threshold must be finite and ≥ 0, got {threshold}");
        var y = Tensor.Uninitialized(g.Shape, g.Device);
        var stats = Tensor.Uninitialized(new Shape(4), g.Device);
        g.Backend.Prune(kind, g, y, threshold, seed, stats);
        return (y, ReadStats(stats, g.Numel));
    }

    /// <summary>The statistics a prune wrote to its 4-element <paramref name="stats"/> (see <see cref="IBackend.Prune"/>).</summary>
    internal static PruneStats ReadStats(Tensor stats, long elements)
    {
        var s = stats.ToArray();
        return new PruneStats(elements, (long)Math.Round(s[0]), s[1], s[2], s[3]);
    }
}

/// <summary>What one pruning pass did to a tensor.</summary>
/// <param name="Elements">Entries of the tensor.</param>
/// <param name="Zeros">Zeros in the result (exact zeros of the input included).</param>
/// <param name="Dot">Σ g·T(g).</param>
/// <param name="InputSquares">Σ g².</param>
/// <param name="OutputSquares">Σ T(g)².</param>
public readonly record struct PruneStats(long Elements, long Zeros, double Dot, double InputSquares, double OutputSquares)
{
    /// <summary>Fraction of zeros in the result.</summary>
    public double Sparsity => Elements == 0 ? 0 : (double)Zeros / Elements;

    /// <summary>Cosine similarity of the result with the input (1 when both are zero).</summary>
    public double Cosine => InputSquares == 0 && OutputSquares == 0 ? 1 : Dot / Math.Sqrt(InputSquares * OutputSquares);
}
