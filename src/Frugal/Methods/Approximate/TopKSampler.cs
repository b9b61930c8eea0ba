using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Top-k CRS: the k terms with the largest a_i, unscaled — deterministic and biased, ‖err‖_F ≤ Σ_{i∉S} a_i, which this
/// choice minimises (arXiv 1805.08079 §3; METHODS.md §2). Ties go to the lower index.
/// </summary>
/// <remarks>
/// With <see cref="Explore"/> = ε &gt; 0 (Frugal's extension, not in the paper) only the top k − u, u = round(ε·k), are
/// taken by weight, and u more are drawn uniformly without replacement from the rest. Plain top-k locks in: a term never
/// chosen gets no gradient, so its weights keep their initial size while the chosen ones grow, and it is never chosen
/// again. Measured on the cnn (top-k 0.5 on convs 2–4, 5 epochs): 14–18 of 32 and 33 of 64 input channels ended at their
/// initial norms, and evaluation, which is exact, then adds their untrained weights (docs/RESULTS.md).
/// </remarks>
public sealed class TopKSampler(double explore = 0) : ColumnSampler
{
    public override string Name => "topk";
    public override bool Unbiased => false;
    /// <summary>Share ε of k drawn uniformly from outside the top (0 = plain top-k).</summary>
    public double Explore { get; } = explore >= 0 && explore < 1 ? explore
        : throw new ArgumentOutOfRangeException(nameof(explore), explore, "topk sampler: exploration share must be in [0, 1)");

    protected override ColumnSample Draw(ReadOnlySpan<double> weights, int k, Generator rng)
    {
        int n = weights.Length;
        var order = new int[n];
        var keys = new double[n];
        for (int i = 0; i < n; i++) { order[i] = i; keys[i] = -weights[i]; }
        // Sort by (−a, index): a stable order, so equal weights keep their index order.
        Array.Sort(order, (x, y) => keys[x] != keys[y] ? keys[x].CompareTo(keys[y]) : x.CompareTo(y));
        int top = k - Math.Min((int)Math.Round(Explore * k), k - 1);
        // Partial Fisher–Yates over order[top..]: order[top..k) becomes a uniform draw from the terms outside the top.
        for (int i = top; i < k; i++)
        {
            int j = i + rng.NextInt(n - i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        var idx = order[..k];
        Array.Sort(idx);
        return new ColumnSample(idx, null);
    }
}
