using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Gradient pruning kernels (neural-gradient sparsification, ../shared/METHODS.md §1): one element-wise pass
/// that prunes and, in the same pass, measures what it did (zeros left, and the sums a cosine similarity
/// needs), so a method learns its realised sparsity and cosine without another pass or a host copy.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// y = prune(x) element-wise with threshold α = <paramref name="threshold"/> ≥ 0 (y may not alias x's
    /// storage at another offset; y == x in place is allowed).
    /// <see cref="PruneKind.Threshold"/>: y = |x| ≥ α ? x : 0.
    /// <see cref="PruneKind.Stochastic"/>: |x| ≥ α → x; else α·sign(x) when u·α &lt; |x|, 0 otherwise, with
    /// u = <see cref="CounterRandom.Uniform(uint, uint)"/>(<see cref="CounterRandom.Key"/>(seed), i) for flat index i.
    /// NaN passes through unchanged (never silently pruned). α = 0 copies x.
    /// If <paramref name="stats"/> is given (4 elements) it receives [number of zeros in y, Σ x·y, Σ x², Σ y²],
    /// accumulated in at least float precision per block and double across blocks.
    /// </summary>
    void Prune(PruneKind kind, Tensor x, Tensor y, float threshold, ulong seed, Tensor? stats);
}

/// <summary>
/// A <see cref="IBackend.Prune"/> that a kernel producing a gradient applies to it as it writes it (batch-norm backward's
/// input gradient): the same bits as the separate pass, from the same flat indices, without reading the gradient back.
/// <see cref="Stats"/> (4 elements) receives what <see cref="IBackend.Prune"/> would measure; its sums are added in
/// other blocks, so they agree to float rounding, the zero count exactly.
/// </summary>
public sealed record GradientPrune(PruneKind Kind, float Threshold, ulong Seed, Tensor Stats);

/// <summary>How <see cref="IBackend.Prune"/> treats entries below the threshold.</summary>
public enum PruneKind
{
    /// <summary>Hard threshold: below α becomes 0 (biased).</summary>
    Threshold,
    /// <summary>Below α becomes ±α with probability |x|/α, else 0: unbiased, E[y] = x.</summary>
    Stochastic,
}
