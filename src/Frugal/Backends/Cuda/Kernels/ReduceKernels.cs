namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Reductions over the middle axis of [outer, mid, inner] (CpuBackend.Reduce), ArgMax, and the squared norm for
/// gradient clipping. All deterministic: tree reductions in shared memory, no atomics. Row reductions (inner = 1)
/// take one block per row; column reductions (inner &gt; 1) one thread per output, summing in the CPU's order.
/// </summary>
public static class ReduceKernels
{
    public static KernelModule Module { get; } = new("reduce", Source);

    const string Source = """
extern "C" __global__ void fr_reduce_rows(const float* x, float* y, int rows, int mid, int op)
{
    __shared__ float sh[FR_BLOCK];
    for (int row = blockIdx.x; row < rows; row += gridDim.x)
    {
        const float* xr = x + (long long)row * mid;
        float acc = op == ROP_SUM ? 0.0f : (op == ROP_MAX ? -fr_inf() : fr_inf());
        for (int j = threadIdx.x; j < mid; j += blockDim.x) acc = fr_reduce_step(op, acc, xr[j]);
        acc = fr_block_reduce(op, acc, sh);
        if (threadIdx.x == 0) y[row] = acc;
    }
}

extern "C" __global__ void fr_reduce_cols(const float* x, float* y, int outer, int mid, int inner, int op)
{
    FR_GRID_LOOP(t, (long long)outer * inner)
    {
        long long o = t / inner, i = t - o * inner;
        const float* p = x + o * mid * inner + i;
        float acc = p[0];
        for (int m = 1; m < mid; m++) acc = fr_reduce_step(op, acc, p[(long long)m * inner]);
        y[t] = acc;
    }
}

// Index of the first maximum along mid; a NaN wins at its first occurrence (CpuBackend.ArgMax).
extern "C" __global__ void fr_argmax(const float* x, int* out, int outer, int mid, int inner)
{
    FR_GRID_LOOP(t, (long long)outer * inner)
    {
        long long o = t / inner, i = t - o * inner;
        const float* p = x + o * mid * inner + i;
        int best = 0;
        float bv = -fr_inf();
        for (int m = 0; m < mid; m++)
        {
            float v = p[(long long)m * inner];
            if (v > bv || v != v)
            {
                bv = v;
                best = m;
                if (v != v) break;
            }
        }
        out[t] = best;
    }
}

// result[0] = Σ x² accumulated in double, one block.
extern "C" __global__ void fr_squared_norm(const float* x, int n, float* result)
{
    __shared__ double sh[FR_BLOCK];
    double acc = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
    {
        double v = x[i];
        acc += v * v;
    }
    acc = fr_block_sum_d(acc, sh);
    if (threadIdx.x == 0) result[0] = (float)acc;
}
""";
}
