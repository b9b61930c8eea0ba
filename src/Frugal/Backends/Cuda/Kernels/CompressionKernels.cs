namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Gradient compression kernels (METHODS.md §1): low-bit float quantisation (IBackend.Quantize.cs) and pruning with
/// its statistics (IBackend.Prune.cs). Both give the CPU's bits exactly: the quantiser runs the steps of
/// <see cref="FloatRounding.Quantize"/> as the CPU does (float32 for E ≤ 7 like CpuBackend.QuantizeVectors, double for
/// E = 8 like the scalar reference), the pruner CpuBackend.PruneScalar; the random bits are the prelude's
/// <c>fr_random_bits24</c> (= <see cref="CounterRandom"/>) of the flat element index. Pruning statistics reduce
/// deterministically: a double tree per block into a partial per block, then one block sums the partials in double.
/// </summary>
public static class CompressionKernels
{
    public static KernelModule Module { get; } = new("compression", Source);

    const string Source = """
// Q(x·scale)/scale (FloatRounding.Quantize). minBiased = 127 + emin; biased = 127 + qe with 2^qe the target's quantum
// at |v|; every step below is exact (t < 2^(M+1); k·2^qe is a value of the format), so float and double agree with
// the reference whenever their powers of two are normal floats: E ≤ 7. wide (E = 8) takes the reference's double path.
// Exact products also make the result independent of FMA contraction (NVRTC's default --fmad=true).
__device__ float fr_quantize_one(float x, unsigned index, int mantissa, int minBiased, int infNaN, float scale,
                                 float maxFinite, int stochastic, unsigned key, int wide)
{
    if ((__float_as_int(x) & 0x7fffffff) >= 0x7f800000) return infNaN ? x : fr_nan();
    float v = x * scale;
    int bits = __float_as_int(v), sign = bits & ~0x7fffffff, a = bits & 0x7fffffff;
    int biased = fr_imin(fr_imax(a >> 23, minBiased), 254) - mantissa;
    float r;
    if (!wide)
    {
        float quantum = __int_as_float(biased << 23);           // 2^qe
        float inverse = __int_as_float((254 - biased) << 23);   // 2^-qe
        float t = __int_as_float(a) * inverse, k;
        if (stochastic)
        {
            float f = floorf(t);
            float u = (float)fr_random_bits24(key, index);
            k = f + (u < (t - f) * 16777216.0f ? 1.0f : 0.0f);
        }
        else k = rintf(t);                                      // ties to even
        r = fr_min(k * quantum, maxFinite);
    }
    else
    {
        int qe = biased - 127;
        double t = (double)__int_as_float(a) * ldexp(1.0, -qe), k;
        if (stochastic)
        {
            double f = floor(t);
            double u = (double)fr_random_bits24(key, index);
            k = f + (u < (t - f) * 16777216.0 ? 1.0 : 0.0);
        }
        else k = rint(t);
        double q = k * ldexp(1.0, qe);
        r = (float)(q < (double)maxFinite ? q : (double)maxFinite);
    }
    return __int_as_float(__float_as_int(r) | sign) / scale;
}

// y = Q(x·scale)/scale element-wise; y may be x.
extern "C" __global__ void fr_quantize_float(const float* x, float* y, int n, int mantissa, int minBiased, int infNaN, float scale,
                                             float maxFinite, int stochastic, unsigned key, int wide)
{
    FR_GRID_LOOP(i, n) y[i] = fr_quantize_one(x[i], (unsigned)i, mantissa, minBiased, infNaN, scale, maxFinite, stochastic, key, wide);
}

// Sums v[0..4) over the block in double, one tree for all four (a quarter of the barriers of four trees); every
// thread gets the totals. Ends with a barrier, so sh can serve again.
__device__ void fr_block_sum4_d(double* v, double (*sh)[FR_BLOCK])
{
    int t = threadIdx.x;
    for (int c = 0; c < 4; c++) sh[c][t] = v[c];
    __syncthreads();
    for (int s = FR_BLOCK / 2; s > 0; s >>= 1)
    {
        if (t < s)
            for (int c = 0; c < 4; c++) sh[c][t] += sh[c][t + s];
        __syncthreads();
    }
    for (int c = 0; c < 4; c++) v[c] = sh[c][0];
    __syncthreads();
}

// y = prune(x) (CpuBackend.PruneScalar): |x| ≥ α or NaN keeps x; below α 0, or for stochastic pruning ±α when
// u·α < |x| with u = bits24·2^-24. With partial non-null each block writes [zeros, Σx·y, Σx², Σy²] of its elements to
// partial[4·block ..]: products in float as on the CPU, sums per thread and the block's tree in double. y may be x.
extern "C" __global__ void fr_prune(const float* x, float* y, int n, int stochastic, float alpha, unsigned key, double* partial)
{
    __shared__ double sh[4][FR_BLOCK];
    double s[4] = { 0.0, 0.0, 0.0, 0.0 };   // zeros, Σx·y, Σx², Σy²
    FR_GRID_LOOP(i, n)
    {
        float xi = x[i], a = fabsf(xi), yi = xi;
        if (a < alpha)
        {
            yi = 0.0f;
            if (stochastic)
            {
                float u = (float)fr_random_bits24(key, (unsigned)i) * (1.0f / 16777216.0f);
                if (u * alpha < a) yi = __int_as_float((__float_as_int(xi) & ~0x7fffffff) | __float_as_int(alpha));
            }
        }
        y[i] = yi;
        if (partial)
        {
            float pxy = xi * yi, pxx = xi * xi, pyy = yi * yi;
            if (yi == 0.0f) s[0] += 1.0;
            s[1] += pxy;
            s[2] += pxx;
            s[3] += pyy;
        }
    }
    if (partial)   // the same for every thread of the grid, so every thread reaches the barriers
    {
        fr_block_sum4_d(s, sh);
        if (threadIdx.x == 0)
            for (int c = 0; c < 4; c++) partial[4LL * blockIdx.x + c] = s[c];
    }
}

// stats[c] = Σ_b partial[4b + c] in double, rounded to float once (one block).
extern "C" __global__ void fr_prune_stats(const double* partial, int blocks, float* stats)
{
    __shared__ double sh[4][FR_BLOCK];
    double s[4] = { 0.0, 0.0, 0.0, 0.0 };
    for (int b = threadIdx.x; b < blocks; b += blockDim.x)
        for (int c = 0; c < 4; c++) s[c] += partial[4LL * b + c];
    fr_block_sum4_d(s, sh);
    if (threadIdx.x == 0)
        for (int c = 0; c < 4; c++) stats[c] = (float)s[c];
}
""";
}
