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
/// and c = 1 (population) or n/(n − 1) (unbiased); moments in double on the host.
/// </summary>
public static class Kurtosis
{
    /// <summary>Kurt[w] as a scalar tensor, differentiable with respect to <paramref name="w"/>.</summary>
    public static Tensor Of(Tensor w, KurtosisStd std = KurtosisStd.Population)
    {
        if (w.Numel < 2) throw new ArgumentException($"kurtosis: needs at least 2 values, got a tensor of shape {w.Shape}");
        return new KurtosisFn().Forward(w, std);
    }

    /// <summary>
    /// One pass forward for m₂ and m₄, one backward (the op chain of five element-wise passes and their adjoints cost
    /// more than the conv layers' share of a small model's step). With d = w − μ, ∂K/∂dᵢ = 4(dᵢ³ − (m₄/m₂)·dᵢ)/(n·c²·m₂²),
    /// and through the centring ∂K/∂wᵢ = ∂K/∂dᵢ − mean_j ∂K/∂dⱼ, whose mean term is 4·mean(d³)/(n·c²·m₂²) as Σdᵢ = 0.
    /// </summary>
    sealed class KurtosisFn : Autograd.Function
    {
        float[]? _w;
        double _mean, _m2, _m4, _c;

        public Tensor Forward(Tensor w, KurtosisStd std)
        {
            var x = w.ToArray();
            _c = Correction(x.Length, std);
            (_mean, _m2, _m4) = Moments(x);
            if (NeedsGrad(w)) _w = x;
            return Record(Tensor.Scalar((float)(_m4 / (_c * _m2 * _c * _m2)), w.Device), w);
        }

        public override Tensor?[] Backward(Tensor gradOutput)
        {
            var x = _w!;
            int n = x.Length;
            double scale = gradOutput.Item() * 4 / (n * _c * _c * _m2 * _m2), ratio = _m4 / _m2, m3 = 0;
            foreach (var v in x) { double d = v - _mean; m3 += d * d * d; }
            m3 /= n;
            var g = new float[n];
            for (int i = 0; i < n; i++)
            {
                double d = x[i] - _mean;
                g[i] = (float)(scale * (d * d * d - ratio * d - m3));
            }
            _w = null;
            return [Tensor.FromArray(g, Inputs[0].Shape, Inputs[0].Device)];
        }
    }

    static (double Mean, double M2, double M4) Moments(ReadOnlySpan<float> w)
    {
        double mean = 0;
        foreach (var v in w) mean += v;
        mean /= w.Length;
        double m2 = 0, m4 = 0;
        foreach (var v in w)
        {
            double d2 = (v - mean) * (v - mean);
            m2 += d2; m4 += d2 * d2;
        }
        return (mean, m2 / w.Length, m4 / w.Length);
    }

    /// <summary>The same on the host, in double: for reports and as the tests' reference.</summary>
    public static double Of(ReadOnlySpan<float> w, KurtosisStd std = KurtosisStd.Population)
    {
        if (w.Length < 2) throw new ArgumentException($"kurtosis: needs at least 2 values, got {w.Length}");
        var (_, m2, m4) = Moments(w);
        double c = Correction(w.Length, std);
        return m4 / (c * m2 * c * m2);
    }

    static double Correction(int n, KurtosisStd std) => std == KurtosisStd.Unbiased ? n / (n - 1.0) : 1;
}
