namespace Frugal.Backends;

/// <summary>
/// The input channels a convolution is restricted to: y = Σ_{j} conv(x[:, Indices[j]], w[:, Indices[j]]·Scales[j]) + b,
/// with x and w keeping their full channel count. Its gradients are zero outside the subset. Column-row sampling's forward
/// mode (METHODS.md §2, Conv2d) is this product, run without gathering x[:, S] and w[:, S] into smaller tensors first.
/// </summary>
/// <param name="Indices">Distinct channel indices in increasing order.</param>
/// <param name="Scales">The factor of each kept channel (null = all 1).</param>
public sealed record ChannelSubset(int[] Indices, float[]? Scales = null)
{
    public int Count => Indices.Length;

    /// <summary>Throws unless the subset is non-empty, strictly increasing, inside [0, <paramref name="channels"/>) and
    /// has one scale per index.</summary>
    public void Check(string op, int channels)
    {
        if (Indices.Length == 0) throw new ArgumentException($"{op}: the channel subset is empty");
        if (Scales != null && Scales.Length != Indices.Length)
            throw new ArgumentException($"{op}: the channel subset has {Indices.Length} indices but {Scales.Length} scales");
        for (int j = 0; j < Indices.Length; j++)
            if (Indices[j] < 0 || Indices[j] >= channels || j > 0 && Indices[j] <= Indices[j - 1])
                throw new ArgumentException($"{op}: channel subset index {Indices[j]} at position {j} is out of [0, {channels}) or not increasing");
    }
}
