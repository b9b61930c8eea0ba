namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Softmax / log-softmax, fused cross-entropy, batch norm and layer norm (CpuBackend.Softmax.cs, .CrossEntropy.cs,
/// .Norm.cs), each stabilised as on the CPU: softmax subtracts the row maximum, variances are mean squared deviations
/// from the mean (two passes, no E[x²] − E[x]²), batch-norm sums run in double. Rows with a reduction take one block
/// (inner = 1) and strided columns one thread (inner &gt; 1).
/// </summary>
public static class NormKernels
{
    public static KernelModule Module { get; } = new("norm", Source);

    const string Source = """
extern "C" __global__ void fr_softmax_rows(const float* x, float* y, int rows, int dim, int logMode)
{
    __shared__ float sh[FR_BLOCK];
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* xr = x + (long long)r * dim;
        float* yr = y + (long long)r * dim;
        float m = -fr_inf();
        for (int j = threadIdx.x; j < dim; j += blockDim.x) m = fr_max(m, xr[j]);
        m = fr_block_max(m, sh);
        float s = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) s += expf(xr[j] - m);
        s = fr_block_sum(s, sh);
        if (logMode)
        {
            float ls = logf(s);
            for (int j = threadIdx.x; j < dim; j += blockDim.x) yr[j] = (xr[j] - m) - ls;
        }
        else
            for (int j = threadIdx.x; j < dim; j += blockDim.x) yr[j] = expf(xr[j] - m) / s;
    }
}

extern "C" __global__ void fr_softmax_cols(const float* x, float* y, int outer, int dim, int inner, int logMode)
{
    FR_GRID_LOOP(t, (long long)outer * inner)
    {
        long long o = t / inner, i = t - o * inner;
        const float* p = x + o * dim * inner + i;
        float* q = y + o * dim * inner + i;
        float m = p[0];
        for (int d = 1; d < dim; d++) m = fr_max(m, p[(long long)d * inner]);
        float s = 0.0f;
        for (int d = 0; d < dim; d++) s += expf(p[(long long)d * inner] - m);
        if (logMode)
        {
            float ls = logf(s);
            for (int d = 0; d < dim; d++) q[(long long)d * inner] = (p[(long long)d * inner] - m) - ls;
        }
        else
            for (int d = 0; d < dim; d++) q[(long long)d * inner] = expf(p[(long long)d * inner] - m) / s;
    }
}

// softmax: gx = y·(g − Σ g·y); log-softmax: gx = g − exp(y)·Σ g.
extern "C" __global__ void fr_softmax_backward_rows(const float* y, const float* g, float* gx, int rows, int dim, int logMode)
{
    __shared__ float sh[FR_BLOCK];
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        long long b = (long long)r * dim;
        float acc = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) acc += logMode ? g[b + j] : g[b + j] * y[b + j];
        acc = fr_block_sum(acc, sh);
        for (int j = threadIdx.x; j < dim; j += blockDim.x)
            gx[b + j] = logMode ? g[b + j] - expf(y[b + j]) * acc : (g[b + j] - acc) * y[b + j];
    }
}

extern "C" __global__ void fr_softmax_backward_cols(const float* y, const float* g, float* gx, int outer, int dim, int inner, int logMode)
{
    FR_GRID_LOOP(t, (long long)outer * inner)
    {
        long long o = t / inner, i = t - o * inner, b = o * dim * inner + i;
        float acc = 0.0f;
        for (int d = 0; d < dim; d++)
        {
            long long k = b + (long long)d * inner;
            acc += logMode ? g[k] : g[k] * y[k];
        }
        for (int d = 0; d < dim; d++)
        {
            long long k = b + (long long)d * inner;
            gx[k] = logMode ? g[k] - expf(y[k]) * acc : (g[k] - acc) * y[k];
        }
    }
}

// Per row: probs = softmax(x); loss = (1 − ε)(lse − x[t]) + ε(lse − mean x), lse = m + log Σ exp(x − m), in double.
extern "C" __global__ void fr_cross_entropy_forward(const float* x, const int* targets, float* loss, float* probs, int n, int c, float eps)
{
    __shared__ float sh[FR_BLOCK];
    for (int r = blockIdx.x; r < n; r += gridDim.x)
    {
        const float* xr = x + (long long)r * c;
        float* pr = probs + (long long)r * c;
        float m = -fr_inf();
        for (int j = threadIdx.x; j < c; j += blockDim.x) m = fr_max(m, xr[j]);
        m = fr_block_max(m, sh);
        float s = 0.0f;
        for (int j = threadIdx.x; j < c; j += blockDim.x)
        {
            float e = expf(xr[j] - m);
            pr[j] = e;
            s += e;
        }
        s = fr_block_sum(s, sh);
        for (int j = threadIdx.x; j < c; j += blockDim.x) pr[j] = pr[j] / s;
        float sx = 0.0f;
        if (eps != 0.0f)
        {
            for (int j = threadIdx.x; j < c; j += blockDim.x) sx += xr[j];
            sx = fr_block_sum(sx, sh);
        }
        if (threadIdx.x == 0)
        {
            double e = eps;
            double lse = (double)m + log((double)s);
            double l = (1.0 - e) * (lse - (double)xr[targets[r]]);
            if (eps != 0.0f) l += e * (lse - (double)sx / c);
            loss[r] = (float)l;
        }
    }
}

// gx[i, j] = (p − (1 − ε)[j = t_i] − ε/c)·k with k = gradLoss[i or 0]·scale, as the CPU's affine form.
extern "C" __global__ void fr_cross_entropy_backward(const float* probs, const int* targets, const float* gradLoss, float* gx,
                                                     int n, int c, float eps, float scale, int perRow)
{
    FR_GRID_LOOP(t, (long long)n * c)
    {
        long long r = t / c, j = t - r * c;
        float k = gradLoss[perRow ? r : 0] * scale;
        float p = probs[t];
        float o = eps == 0.0f ? p * k : k * p + (-eps * k / c);
        if (j == targets[r]) o -= (1.0f - eps) * k;
        gx[t] = o;
    }
}

// One block per channel of x viewed as [outer, channels, inner]: batch mean, biased variance, normalise.
extern "C" __global__ void fr_batch_norm_train(const float* x, const float* weight, const float* bias, float* y, float* mean, float* var,
                                               int outer, int channels, int inner, float eps)
{
    __shared__ double sh[FR_BLOCK];
    long long count = (long long)outer * inner;
    for (int c = blockIdx.x; c < channels; c += gridDim.x)
    {
        double s = 0.0;
        for (long long k = threadIdx.x; k < count; k += blockDim.x)
        {
            long long nn = k / inner, i = k - nn * inner;
            s += x[(nn * channels + c) * inner + i];
        }
        s = fr_block_sum_d(s, sh);
        float mu = (float)(s / count);
        double q = 0.0;
        for (long long k = threadIdx.x; k < count; k += blockDim.x)
        {
            long long nn = k / inner, i = k - nn * inner;
            float d = x[(nn * channels + c) * inner + i] - mu;
            q += (double)(d * d);
        }
        q = fr_block_sum_d(q, sh);
        float va = (float)(q / count);
        if (threadIdx.x == 0) { mean[c] = mu; var[c] = va; }
        float scale = (weight ? weight[c] : 1.0f) / sqrtf(va + eps), shift = bias ? bias[c] : 0.0f;
        for (long long k = threadIdx.x; k < count; k += blockDim.x)
        {
            long long nn = k / inner, i = k - nn * inner, at = (nn * channels + c) * inner + i;
            y[at] = (x[at] - mu) * scale + shift;
        }
    }
}

// y = (x − mean)·γ/√(var + eps) + β with given statistics.
extern "C" __global__ void fr_batch_norm_apply(const float* x, const float* mean, const float* var, const float* weight, const float* bias,
                                               float* y, int n, int channels, int inner, float eps)
{
    FR_GRID_LOOP(t, n)
    {
        int c = (int)((t / inner) % channels);
        float scale = (weight ? weight[c] : 1.0f) / sqrtf(var[c] + eps);
        y[t] = (x[t] - mean[c]) * scale + (bias ? bias[c] : 0.0f);
    }
}

// Per channel: sumG = Σg, sumGXhat = Σ g·(x − μ)·σ⁻¹ (double sums), then gx = ka·g + kb·(x − μ) + kc (InputGradientCoefficients).
extern "C" __global__ void fr_batch_norm_backward(const float* x, const float* g, const float* mean, const float* var, const float* weight,
                                                  float* gx, float* sumG, float* sumGXhat, int outer, int channels, int inner, float eps, int batchStats)
{
    __shared__ double sh[FR_BLOCK];
    long long count = (long long)outer * inner;
    for (int c = blockIdx.x; c < channels; c += gridDim.x)
    {
        float mu = mean[c], invStd = 1.0f / sqrtf(var[c] + eps);
        double sg = 0.0, sgx = 0.0;
        for (long long k = threadIdx.x; k < count; k += blockDim.x)
        {
            long long nn = k / inner, i = k - nn * inner, at = (nn * channels + c) * inner + i;
            float gv = g[at];
            sg += gv;
            sgx += (double)(gv * (x[at] - mu));
        }
        sg = fr_block_sum_d(sg, sh);
        sgx = fr_block_sum_d(sgx, sh);
        float sumGc = (float)sg, sumGXc = (float)(sgx * invStd);
        if (threadIdx.x == 0) { sumG[c] = sumGc; sumGXhat[c] = sumGXc; }
        if (!gx) continue;
        int m = outer * inner;
        float ka = (weight ? weight[c] : 1.0f) * invStd, kb = 0.0f, kc = 0.0f;
        if (batchStats) { kb = -ka * invStd * sumGXc / m; kc = -ka * sumGc / m; }
        for (long long k = threadIdx.x; k < count; k += blockDim.x)
        {
            long long nn = k / inner, i = k - nn * inner, at = (nn * channels + c) * inner + i;
            gx[at] = ka * g[at] + (x[at] - mu) * kb + kc;
        }
    }
}

// One block per row of [rows, dim]: μ, rstd = 1/√(biased var + eps), y = (x − μ)·rstd·w + b.
extern "C" __global__ void fr_layer_norm_forward(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                                                 int rows, int dim, float eps)
{
    __shared__ float sh[FR_BLOCK];
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        const float* xr = x + (long long)r * dim;
        float* yr = y + (long long)r * dim;
        float s = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) s += xr[j];
        float mu = fr_block_sum(s, sh) / dim;
        float q = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x) { float d = xr[j] - mu; q += d * d; }
        float rs = 1.0f / sqrtf(fr_block_sum(q, sh) / dim + eps);
        if (threadIdx.x == 0) { mean[r] = mu; rstd[r] = rs; }
        for (int j = threadIdx.x; j < dim; j += blockDim.x)
        {
            float v = (xr[j] - mu) * rs;
            if (weight && bias) v = v * weight[j] + bias[j];
            else if (weight) v = v * weight[j];
            else if (bias) v = v + bias[j];
            yr[j] = v;
        }
    }
}

// gx = rstd·(ĝ − mean ĝ − x̂·mean(ĝ·x̂)), ĝ = g·w, x̂ = (x − μ)·rstd; one block per row.
extern "C" __global__ void fr_layer_norm_backward_input(const float* x, const float* g, const float* mean, const float* rstd, const float* weight,
                                                        float* gx, int rows, int dim)
{
    __shared__ float sh[FR_BLOCK];
    for (int r = blockIdx.x; r < rows; r += gridDim.x)
    {
        long long b = (long long)r * dim;
        float mu = mean[r], rs = rstd[r];
        float s1 = 0.0f, s2 = 0.0f;
        for (int j = threadIdx.x; j < dim; j += blockDim.x)
        {
            float xh = (x[b + j] - mu) * rs, gh = weight ? g[b + j] * weight[j] : g[b + j];
            s1 += gh;
            s2 += gh * xh;
        }
        s1 = fr_block_sum(s1, sh) / dim;
        s2 = fr_block_sum(s2, sh) / dim;
        for (int j = threadIdx.x; j < dim; j += blockDim.x)
        {
            float xh = (x[b + j] - mu) * rs, gh = weight ? g[b + j] * weight[j] : g[b + j];
            float o = xh * -s2 + gh;
            gx[b + j] = o * rs + -s1 * rs;
        }
    }
}

// gWeight[j] = Σ_rows g·x̂, gBias[j] = Σ_rows g (either may be null); one thread per column, rows in order.
extern "C" __global__ void fr_layer_norm_backward_params(const float* x, const float* g, const float* mean, const float* rstd,
                                                         float* gWeight, float* gBias, int rows, int dim)
{
    FR_GRID_LOOP(j, dim)
    {
        float sw = 0.0f, sb = 0.0f;
        for (int r = 0; r < rows; r++)
        {
            long long at = (long long)r * dim + j;
            float gv = g[at];
            sw += gv * ((x[at] - mean[r]) * rstd[r]);
            sb += gv;
        }
        if (gWeight) gWeight[j] = sw;
        if (gBias) gBias[j] = sb;
    }
}
""";
}
