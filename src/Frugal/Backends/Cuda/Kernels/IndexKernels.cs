namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Index kernels (CpuBackend.Index.cs). The accumulating ones are deterministic without atomics: the host groups the
/// writes by target (<see cref="IndexPlans"/>), and one thread per target adds its sources in the CPU's order.
/// </summary>
public static class IndexKernels
{
    public static KernelModule Module { get; } = new("index", Source);

    const string Source = """
// y[o, j, i] = x[o, idx[j], i] for y viewed as [outer, k, inner], x as [outer, dim, inner].
extern "C" __global__ void fr_index_select(const float* x, const int* idx, float* y, int outer, int dim, int inner, int k)
{
    FR_GRID_LOOP(t, (long long)outer * k * inner)
    {
        long long i = t % inner, r = t / inner, j = r % k, o = r / k;
        y[t] = x[(o * dim + idx[j]) * inner + i];
    }
}

// y[o, targets[u], i] += src[o, js[q], i] for q in [starts[u], starts[u+1]), in order: one thread per (o, u, i).
extern "C" __global__ void fr_index_add(float* y, const float* src, const int* targets, const int* starts, const int* js,
                                        int outer, int dim, int inner, int k, int unique)
{
    FR_GRID_LOOP(t, (long long)outer * unique * inner)
    {
        long long i = t % inner, r = t / inner, u = r % unique, o = r / unique;
        float* dst = y + (o * dim + targets[u]) * inner + i;
        float acc = *dst;
        for (int q = starts[u]; q < starts[u + 1]; q++) acc += src[(o * k + js[q]) * inner + i];
        *dst = acc;
    }
}

// y[p] = x[p with coordinate axis replaced by index[p]]; s.dim = y's shape, s.a = x's strides.
extern "C" __global__ void fr_gather(const float* x, const int* index, float* y, int n, int axis, FrDims s)
{
    FR_GRID_LOOP(t, n)
    {
        long long r = t, off = 0;
        for (int d = s.rank - 1; d >= 0; d--)
        {
            long long c = r % s.dim[d];
            r /= s.dim[d];
            if (d != axis) off += c * s.a[d];
        }
        y[t] = x[off + (long long)index[t] * s.a[axis]];
    }
}

// y[targets[u]] += src[offsets[q]] for q in [starts[u], starts[u+1]), in order: one thread per distinct target.
extern "C" __global__ void fr_segment_add(float* y, const float* src, const int* targets, const int* starts, const int* offsets, int unique)
{
    FR_GRID_LOOP(u, unique)
    {
        float acc = y[targets[u]];
        for (int q = starts[u]; q < starts[u + 1]; q++) acc += src[offsets[q]];
        y[targets[u]] = acc;
    }
}
""";
}
