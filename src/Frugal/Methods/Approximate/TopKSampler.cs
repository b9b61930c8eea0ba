using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Top-k CRS: the k terms with the largest a_i, unscaled — deterministic and biased, ‖err‖_F ≤ Σ_{i∉S} a_i, which this
/// choice minimises (arXiv 1805.08079 §3; METHODS.md §2). Ties go to the lower index.
/// </summary>
public sealed class TopKSampler : ColumnSampler
{
    public override string Name => "topk";
    public override bool Unbiased => false;

    protected override ColumnSample Draw(ReadOnlySpan<double> weights, int k, Generator rng)
    {
        int n = weights.Length;
        var order = new int[n];
        var keys = new double[n];
        for (int i = 0; i < n; i++) { order[i] = i; keys[i] = -weights[i]; }
        // Sort by (−a, index): a stable order, so equal weights keep their index order.
        Array.Sort(order, (x, y) => keys[x] != keys[y] ? keys[x].CompareTo(keys[y]) : x.CompareTo(y));
        var idx = order[..k];
        Array.Sort(idx);
        return new ColumnSample(idx, null);
    }
}
