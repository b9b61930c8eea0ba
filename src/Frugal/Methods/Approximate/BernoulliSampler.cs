using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Bernoulli-CRS: keep term i independently with probability p_i and scale it by 1/p_i — unbiased, E‖err‖²_F =
/// Σ (1 − p_i)/p_i·a_i², expected count Σp_i (arXiv 1805.08079 §3; METHODS.md §2). By default p is the exact
/// water-filling optimum with Σp = k; with ε &gt; 0 it is the reference code's single clip min(1, k·a_i/Σa) mixed with
/// ε uniform (expected count below k, see <see cref="SamplingMath.ReferenceBernoulliProbabilities"/>).
/// </summary>
public sealed class BernoulliSampler : ColumnSampler
{
    public double Epsilon { get; }

    public BernoulliSampler(double epsilon = 0)
    {
        if (epsilon is < 0 or >= 1 || double.IsNaN(epsilon)) throw new ArgumentException($"bernoulli sampler: epsilon must be in [0, 1), got {epsilon}");
        Epsilon = epsilon;
    }

    public override string Name => "bernoulli";
    public override bool Unbiased => true;

    /// <summary>The keep probabilities for target count k.</summary>
    public double[] Probabilities(ReadOnlySpan<double> weights, int k) =>
        Epsilon > 0 ? SamplingMath.ReferenceBernoulliProbabilities(weights, k, Epsilon) : SamplingMath.WaterFilling(weights, k);

    protected override ColumnSample Draw(ReadOnlySpan<double> weights, int k, Generator rng)
    {
        var p = Probabilities(weights, k);
        var sample = DrawWith(p, rng);
        if (sample.Count > 0) return sample;
        // Nothing kept: the estimate is the zero product. Run it as the largest term scaled by 0, which keeps the
        // estimator (and its unbiasedness) and spares the layers an empty GEMM.
        int best = 0;
        for (int i = 1; i < weights.Length; i++) if (weights[i] > weights[best]) best = i;
        return new ColumnSample([best], [0f]);
    }

    /// <summary>One Bernoulli draw per term with the given probabilities (p_i = 0 never kept, 1 always); kept terms
    /// scaled by 1/p_i. May keep nothing. Public for the linear-regression ↔ ridge test, which fixes p.</summary>
    public static ColumnSample DrawWith(ReadOnlySpan<double> p, Generator rng)
    {
        var idx = new List<int>();
        var scale = new List<float>();
        for (int i = 0; i < p.Length; i++)
        {
            if (!(p[i] > 0)) continue;
            if (rng.NextDouble() < p[i]) { idx.Add(i); scale.Add((float)(1 / p[i])); }
        }
        return new ColumnSample(idx.ToArray(), scale.ToArray());
    }
}
