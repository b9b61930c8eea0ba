using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>The guards every sampler shares (METHODS.md §2), around the sampler-specific draw.</summary>
public abstract class ColumnSampler : IColumnSampler
{
    public abstract string Name { get; }
    public abstract bool Unbiased { get; }

    public ColumnSample Sample(ReadOnlySpan<double> weights, int k, Generator rng)
    {
        int n = weights.Length;
        if (k < 1) throw new ArgumentException($"{Name} sampler: k must be at least 1, got {k}");
        if (k >= n) return ColumnSample.Exact(n);
        int nonZero = 0;
        foreach (var a in weights)
        {
            // A NaN or infinite norm (a diverging run) gives no usable distribution: compute exactly and let the
            // trainer's divergence check report the loss.
            if (!(a >= 0) || double.IsInfinity(a)) return ColumnSample.Exact(n);
            if (a > 0) nonZero++;
        }
        if (nonZero == 0) return ColumnSample.Exact(n);
        return Draw(weights, Math.Min(k, nonZero), rng);
    }

    /// <summary>The draw proper, with 1 ≤ k ≤ (non-zero weights) &lt; n and finite non-negative weights.</summary>
    protected abstract ColumnSample Draw(ReadOnlySpan<double> weights, int k, Generator rng);
}
