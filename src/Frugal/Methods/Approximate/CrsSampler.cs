using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// CRS: k i.i.d. draws with replacement from p, estimate Σ_t A[:,i_t]B[i_t,:]/(k·p_{i_t}) — unbiased, E‖err‖²_F =
/// (1/k)(Σ a_i²/p_i − ‖AB‖²_F) (arXiv 1805.08079 §3; METHODS.md §2). p is optimal (∝ a_i), optionally mixed with
/// ε uniform as the reference code does (ε = 0.1 there), or uniform (the baseline of the sampler-error experiment).
/// </summary>
public sealed class CrsSampler : ColumnSampler
{
    public double Epsilon { get; }
    public bool Uniform { get; }

    public CrsSampler(double epsilon = 0, bool uniform = false)
    {
        if (epsilon is < 0 or >= 1 || double.IsNaN(epsilon)) throw new ArgumentException($"crs sampler: epsilon must be in [0, 1), got {epsilon}");
        Epsilon = epsilon; Uniform = uniform;
    }

    public override string Name => Uniform ? "crs-uniform" : "crs";
    public override bool Unbiased => true;

    /// <summary>The distribution the draws come from.</summary>
    public double[] Probabilities(ReadOnlySpan<double> weights)
    {
        if (!Uniform) return SamplingMath.CrsProbabilities(weights, Epsilon);
        var p = new double[weights.Length];
        Array.Fill(p, 1.0 / weights.Length);
        return p;
    }

    protected override ColumnSample Draw(ReadOnlySpan<double> weights, int k, Generator rng)
    {
        var p = Probabilities(weights);
        int n = p.Length;
        var cdf = new double[n];
        double run = 0;
        for (int i = 0; i < n; i++) cdf[i] = run += p[i];
        var counts = new int[n];
        for (int t = 0; t < k; t++)
        {
            // The first i with cdf[i] > u: terms with p_i = 0 (flat steps of the cdf) are never chosen.
            double u = rng.NextDouble() * run;
            int lo = 0, hi = n - 1;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (cdf[mid] > u) hi = mid; else lo = mid + 1;
            }
            counts[lo]++;
        }
        int distinct = counts.Count(c => c > 0);
        var idx = new int[distinct];
        var scale = new float[distinct];
        for (int i = 0, j = 0; i < n; i++)
            if (counts[i] > 0) { idx[j] = i; scale[j++] = (float)(counts[i] / (k * p[i])); }
        return new ColumnSample(idx, scale);
    }
}
