using Frugal.Autograd;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// The mechanism the approximate layers share: weigh the n terms of a product by the norms of their slices of the two
/// operands (one tensor pass each, <see cref="SliceNorms.SquaredNorms"/>), let the sampler choose, and gather the
/// kept slices, scaled, into smaller dense operands for the ordinary GEMM or convolution (METHODS.md §2).
/// </summary>
internal static class TermSampling
{
    /// <summary>Samples the terms indexed by axis <paramref name="axisA"/> of a and <paramref name="axisB"/> of b
    /// (equal sizes n), weights a_i = ‖a[…, i, …]‖·‖b[…, i, …]‖; records k in <paramref name="count"/>.
    /// k = n (keep 1, or minimal_k ≥ n) skips the norms and returns the exact sample.</summary>
    /// <remarks><paramref name="a"/> null scores by b alone, a_i = ‖b[…, i, …]‖ (<see cref="ApproxScore.Weights"/>).</remarks>
    public static ColumnSample Sample(ApproxSettings s, Tensor? a, int axisA, Tensor b, int axisB, Generator rng, ApproxLayerStats.KCount count)
    {
        long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        int n = b.Shape[axisB];
        int k = SamplingMath.KeepCount(n, s.Keep, s.MinimalK);
        ColumnSample sample;
        if (k >= n) sample = ColumnSample.Exact(n);
        else if (a == null) sample = s.Sampler.Sample(WeightNormTopK.Scores(b, axisB), k, rng);
        else
        {
            float[] sa, sb;
            using (GradMode.NoGrad()) { sa = a.SquaredNorms(axisA).ToArray(); sb = b.SquaredNorms(axisB).ToArray(); }
            sample = s.Sampler.Sample(SamplingMath.PairWeights(sa, sb), k, rng);
        }
        count.Add(sample.Count, n);
        if (t0 != 0) Profiler.Add("approx: norms + draw", t0);
        return sample;
    }

    /// <summary>Forward sampling of a layer's input features/channels (axis 1 of x and of the weight, for Linear [out, in]
    /// and Conv2d [C_out, C_in, kh, kw] alike), scored as <see cref="ApproxSettings.Score"/> says.</summary>
    /// <remarks><paramref name="fused"/>: x [N, in] and weight [out, in] are host matrices; both column norms come from
    /// one pass (<see cref="ColumnPasses.SquaredColumnNorms"/>).</remarks>
    public static ColumnSample SampleInputs(ApproxSettings s, Tensor x, Tensor weight, Generator rng, ApproxLayerStats.KCount count, bool fused = false)
    {
        if (!fused || s.Score == ApproxScore.Weights || x.Rank != 2) return Sample(s, s.Score == ApproxScore.Weights ? null : x, 1, weight, 1, rng, count);
        long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        int n = weight.Shape[1];
        int k = SamplingMath.KeepCount(n, s.Keep, s.MinimalK);
        ColumnSample sample;
        if (k >= n) sample = ColumnSample.Exact(n);
        else
        {
            var (sa, sb) = ColumnPasses.SquaredColumnNorms(new(x.Storage.HostArray!, x.Offset, x.Shape[0], n), new(weight.Storage.HostArray!, weight.Offset, weight.Shape[0], n));
            if (t0 != 0) { Profiler.Add("approx: norms", t0); t0 = System.Diagnostics.Stopwatch.GetTimestamp(); }
            sample = s.Sampler.Sample(SamplingMath.PairWeights(sa, sb), k, rng);
        }
        count.Add(sample.Count, n);
        if (t0 != 0) Profiler.Add("approx: draw", t0);
        return sample;
    }

    /// <summary>The kept slices of t along <paramref name="axis"/>, each times its scale (no multiply when the sampler
    /// does not scale). Differentiable: the gradient scatters back to the kept slices only.</summary>
    public static Tensor Gather(Tensor t, int axis, ColumnSample sample, bool scaled)
    {
        long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        var g = t.IndexSelect(axis, sample.Indices);
        if (scaled && sample.Scales != null)
        {
            var dims = new int[t.Rank];
            Array.Fill(dims, 1);
            dims[axis] = sample.Count;
            g = g.Mul(Tensor.FromArray(sample.Scales, new Shape(dims), t.Device));
        }
        if (t0 != 0) Profiler.Add("approx: gather", t0);
        return g;
    }

    /// <summary>A detached copy of t (the buffer pool may recycle t's storage once its step ends).</summary>
    public static Tensor Snapshot(Tensor t)
    {
        var c = Tensor.Uninitialized(t.Shape, t.Device);
        using (GradMode.NoGrad()) c.CopyFrom(t);
        return c;
    }
}
