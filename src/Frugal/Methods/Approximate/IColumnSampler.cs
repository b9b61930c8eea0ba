using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Chooses which of the n rank-one terms of a product to keep, given their weights a_i = ‖A[:,i]‖·‖B[i,:]‖
/// (METHODS.md §2). Pure host-side code: the layers compute the weights with tensor ops, the sampler returns indices
/// and scale factors, and the layers gather and multiply. Randomness comes from the caller's seeded generator.
/// </summary>
public interface IColumnSampler
{
    /// <summary>Short name: crs, crs-uniform, bernoulli, topk.</summary>
    string Name { get; }

    /// <summary>Whether the estimate's expectation is the exact product.</summary>
    bool Unbiased { get; }

    /// <summary>Keeps about <paramref name="k"/> of the a.Length terms. Guards: k ≥ n, all weights zero, or a negative or
    /// non-finite weight → the exact product; k is capped at the number of non-zero weights.</summary>
    ColumnSample Sample(ReadOnlySpan<double> weights, int k, Generator rng);
}
