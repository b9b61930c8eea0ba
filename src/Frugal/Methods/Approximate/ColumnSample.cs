namespace Frugal.Methods.Approximate;

/// <summary>
/// Which terms of a product a sampler kept: distinct indices in increasing order (so gathers copy long runs) and the
/// factor each kept term is scaled by (null = all 1, as in Top-k). CRS draws with replacement; a term drawn c times
/// appears once with c times the scale, which is the same estimate with fewer columns to gather and multiply.
/// <see cref="IsExact"/> marks the guard cases (k = n, all weights zero): run the exact product.
/// </summary>
public sealed record ColumnSample(int[] Indices, float[]? Scales, bool IsExact = false)
{
    /// <summary>Number of distinct kept terms: the k the smaller product actually runs with.</summary>
    public int Count => Indices.Length;

    /// <summary>Every one of the n terms, unscaled: the exact product.</summary>
    public static ColumnSample Exact(int n)
    {
        var all = new int[n];
        for (int i = 0; i < n; i++) all[i] = i;
        return new ColumnSample(all, null, IsExact: true);
    }
}
