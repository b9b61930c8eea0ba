using Frugal.Autograd;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Top-k CRS scored by the weights alone (METHODS.md §2, Distributed Top-k CRS): S = the k input features/channels
/// with the largest ‖W[:,i]‖_F. Weights are identical on every rank of synchronous SGD, so every rank computes the same
/// sorted S without communicating; the forward sampler with <see cref="ApproxScore.Weights"/> and the topk-crs gradient
/// exchange both select through here, so they agree exactly.
/// </summary>
public static class WeightNormTopK
{
    static readonly TopKSampler Sampler = new();

    /// <summary>‖t[…, i, …]‖_F for each index i of <paramref name="axis"/> (axis 1: the input features of a Linear
    /// weight [out, in], the input channels of a conv kernel [C_out, C_in, kh, kw]).</summary>
    public static double[] Scores(Tensor t, int axis)
    {
        float[] squared;
        using (GradMode.NoGrad()) squared = t.SquaredNorms(axis).ToArray();
        var a = new double[squared.Length];
        for (int i = 0; i < a.Length; i++) a[i] = Math.Sqrt(Math.Max(0, squared[i]));
        return a;
    }

    /// <summary>The kept input indices of <paramref name="weight"/>, increasing: the k = min(n, max(min_k, ⌊keep·n⌋))
    /// largest scores, ties to the lower index; exact (all n) when k = n and in the sampler guards (all norms zero,
    /// a non-finite norm).</summary>
    public static ColumnSample Select(Tensor weight, double keep, int minimalK)
    {
        int n = weight.Shape[1];
        int k = SamplingMath.KeepCount(n, keep, minimalK);
        // Top-k draws nothing at random; the generator is only the interface's.
        return k >= n ? ColumnSample.Exact(n) : Sampler.Sample(Scores(weight, 1), k, Generator.Default);
    }
}
