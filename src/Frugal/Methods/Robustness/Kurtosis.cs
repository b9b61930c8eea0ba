using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Robustness;

/// <summary>Which standard deviation normalises the kurtosis.</summary>
public enum KurtosisStd
{
    /// <summary>σ² = mean((W − μ)²), the paper's definition (Shkolnik et al. 2020, eq. 2).</summary>
    Population,
    /// <summary>σ² = Σ(W − μ)²/(n − 1), what the reference code's torch.std computes.</summary>
    Unbiased,
}

/// <summary>
/// The kurtosis of a weight tensor, Kurt[W] = mean(((W − μ)/σ)⁴) (KURE, Shkolnik et al., NeurIPS 2020, eq. 2;
/// ../shared/METHODS.md §5). Uniform 1.8, Gaussian 3, Laplace 6. Written as m₄/(c·m₂)², with m_k the central moments
/// and c = 1 (population) or n/(n − 1) (unbiased), so the tensor form is a short chain of differentiable ops.
/// </summary>
public static class Kurtosis
{
    /// <summary>Kurt[w] as a scalar tensor, differentiable with respect to <paramref name="w"/>.</summary>
    public static Tensor Of(Tensor w, KurtosisStd std = KurtosisStd.Population)
    {
        if (w.Numel < 2) throw new ArgumentException($"kurtosis: needs at least 2 values, got a tensor of shape {w.Shape}");
        var d = w.Sub(w.Mean());
        var d2 = d.Square();
        var m2 = d2.Mean().Mul(Correction(w.Numel, std));
        return d2.Square().Mean().Div(m2.Square());
    }

    /// <summary>The same on the host, in double: for reports and as the tests' reference.</summary>
    public static double Of(ReadOnlySpan<float> w, KurtosisStd std = KurtosisStd.Population)
    {
        if (w.Length < 2) throw new ArgumentException($"kurtosis: needs at least 2 values, got {w.Length}");
        double mean = 0;
        foreach (var v in w) mean += v;
        mean /= w.Length;
        double m2 = 0, m4 = 0;
        foreach (var v in w)
        {
            double d2 = (v - mean) * (v - mean);
            m2 += d2; m4 += d2 * d2;
        }
        m2 = m2 / w.Length * Correction(w.Length, std);
        return m4 / w.Length / (m2 * m2);
    }

    static float Correction(int n, KurtosisStd std) => std == KurtosisStd.Unbiased ? n / (n - 1f) : 1f;
}
