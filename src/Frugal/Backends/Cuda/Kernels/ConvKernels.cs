namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// im2col / col2im around the cuBLAS GEMMs of convolution, the per-channel fill of a conv bias, and 2-D pooling
/// (CpuBackend.Conv.cs). Adjoint kernels (col2im, pooling backward) gather: one thread per input pixel sums the
/// entries that read it, in the order the CPU adds them, so results are deterministic without atomics.
/// </summary>
public static class ConvKernels
{
    public static KernelModule Module { get; } = new("conv", Source);

    const string Source = """
// col[img·imageStride + ((ch·kh + ki)·kw + kj)·rowStride + oh·ow_count + ow] = x[img, ch, ih, iw], 0 in the padding.
extern "C" __global__ void fr_im2col(const float* x, float* col, int n, int c, FrWin w, int imageStride, int rowStride)
{
    long long ohw = (long long)w.oh * w.ow;
    int taps = w.kh * w.kw;
    FR_GRID_LOOP(t, (long long)n * c * taps * ohw)
    {
        long long p = t % ohw, r = t / ohw;
        int tap = (int)(r % taps);
        long long plane = r / taps;
        int ch = (int)(plane % c);
        long long img = plane / c;
        int ki = tap / w.kw, kj = tap % w.kw;
        int oh = (int)(p / w.ow), ow = (int)(p % w.ow);
        int ih = oh * w.sh - w.ph + ki * w.dh, iw = ow * w.sw - w.pw + kj * w.dw;
        float v = 0.0f;
        if (ih >= 0 && ih < w.h && iw >= 0 && iw < w.w) v = x[plane * w.h * w.w + (long long)ih * w.w + iw];
        col[img * imageStride + (long long)(ch * taps + tap) * rowStride + p] = v;
    }
}

// dx[img, ch, ih, iw] = Σ over taps (ki, kj in order) whose window position reads (ih, iw) of the column entry.
extern "C" __global__ void fr_col2im(const float* col, float* dx, int n, int c, FrWin w, int imageStride, int rowStride)
{
    long long hw = (long long)w.h * w.w;
    int taps = w.kh * w.kw;
    FR_GRID_LOOP(t, (long long)n * c * hw)
    {
        long long plane = t / hw;
        int pix = (int)(t - plane * hw);
        int ih = pix / w.w, iw = pix % w.w;
        int ch = (int)(plane % c);
        long long img = plane / c;
        const float* base = col + img * imageStride + (long long)ch * taps * rowStride;
        float acc = 0.0f;
        for (int ki = 0; ki < w.kh; ki++)
        {
            int nh = ih + w.ph - ki * w.dh;
            if (nh < 0 || nh % w.sh != 0) continue;
            int oh = nh / w.sh;
            if (oh >= w.oh) continue;
            for (int kj = 0; kj < w.kw; kj++)
            {
                int nw = iw + w.pw - kj * w.dw;
                if (nw < 0 || nw % w.sw != 0) continue;
                int ow = nw / w.sw;
                if (ow >= w.ow) continue;
                acc += base[(long long)(ki * w.kw + kj) * rowStride + (long long)oh * w.ow + ow];
            }
        }
        dx[t] = acc;
    }
}

// y[n, ch, ...] = v[ch] for y viewed as [N, C, inner].
extern "C" __global__ void fr_fill_channels(float* y, const float* v, int n, int c, int inner)
{
    FR_GRID_LOOP(t, n) y[t] = v[(t / inner) % c];
}

// Max over the window; padding is -inf, the first maximum wins, a NaN wins and stops the search (PyTorch).
// idx (if given) receives the flat in-plane position of the maximum, -1 for a window entirely in the padding.
extern "C" __global__ void fr_max_pool2d(const float* x, float* y, float* idx, int planes, FrWin w)
{
    long long ohw = (long long)w.oh * w.ow;
    FR_GRID_LOOP(t, (long long)planes * ohw)
    {
        long long plane = t / ohw;
        int o = (int)(t - plane * ohw), oh = o / w.ow, ow = o % w.ow;
        const float* xp = x + plane * w.h * w.w;
        int h0 = oh * w.sh - w.ph, w0 = ow * w.sw - w.pw;
        float best = -fr_inf();
        int arg = -1, stop = 0;
        for (int ki = 0; ki < w.kh && !stop; ki++)
        {
            int ih = h0 + ki * w.dh;
            if (ih < 0 || ih >= w.h) continue;
            for (int kj = 0; kj < w.kw; kj++)
            {
                int iw = w0 + kj * w.dw;
                if (iw < 0 || iw >= w.w) continue;
                int at = ih * w.w + iw;
                float v = xp[at];
                if (v > best || v != v || arg < 0)
                {
                    best = v;
                    arg = at;
                    if (v != v) { stop = 1; break; }
                }
            }
        }
        y[t] = best;
        if (idx) idx[t] = (float)arg;
    }
}

// gx[plane, pix] = Σ gy[plane, o] over outputs o (increasing) whose stored maximum position is pix.
extern "C" __global__ void fr_max_pool2d_backward(const float* gy, const float* idx, float* gx, int planes, FrWin w)
{
    long long hw = (long long)w.h * w.w, ohw = (long long)w.oh * w.ow;
    FR_GRID_LOOP(t, (long long)planes * hw)
    {
        long long plane = t / hw;
        int pix = (int)(t - plane * hw), ih = pix / w.w, iw = pix % w.w;
        const float* g = gy + plane * ohw;
        const float* ix = idx + plane * ohw;
        float acc = 0.0f;
        // Taps in decreasing order visit outputs in increasing order (the CPU's summation order).
        for (int ki = w.kh - 1; ki >= 0; ki--)
        {
            int nh = ih + w.ph - ki * w.dh;
            if (nh < 0 || nh % w.sh != 0) continue;
            int oh = nh / w.sh;
            if (oh >= w.oh) continue;
            for (int kj = w.kw - 1; kj >= 0; kj--)
            {
                int nw = iw + w.pw - kj * w.dw;
                if (nw < 0 || nw % w.sw != 0) continue;
                int ow = nw / w.sw;
                if (ow >= w.ow) continue;
                int o = oh * w.ow + ow;
                if ((int)ix[o] == pix) acc += g[o];
            }
        }
        gx[t] = acc;
    }
}

// The taps of an average-pool window that lie inside the input, as [lo, hi) (CpuBackend.ValidRange with step 1).
__device__ __forceinline__ void fr_clip(int start, int len, int k, int* lo, int* hi)
{
    int l = fr_imin(fr_imax(0, -start), k);
    int h = fr_imin(k, len - start);
    *lo = l;
    *hi = fr_imax(l, h);
}

__device__ __forceinline__ int fr_avg_divisor(FrWin w, int countIncludePad, int oh, int ow)
{
    int kiLo, kiHi, kjLo, kjHi;
    fr_clip(oh * w.sh - w.ph, w.h, w.kh, &kiLo, &kiHi);
    fr_clip(ow * w.sw - w.pw, w.w, w.kw, &kjLo, &kjHi);
    return countIncludePad ? w.kh * w.kw : (kiHi - kiLo) * (kjHi - kjLo);
}

// Average pooling (zero padding, no dilation); a window with no pixel inside gives NaN (divisor 0).
extern "C" __global__ void fr_avg_pool2d(const float* x, float* y, int planes, FrWin w, int countIncludePad)
{
    long long ohw = (long long)w.oh * w.ow;
    FR_GRID_LOOP(t, (long long)planes * ohw)
    {
        long long plane = t / ohw;
        int o = (int)(t - plane * ohw), oh = o / w.ow, ow = o % w.ow;
        const float* xp = x + plane * w.h * w.w;
        int h0 = oh * w.sh - w.ph, w0 = ow * w.sw - w.pw;
        int kiLo, kiHi, kjLo, kjHi;
        fr_clip(h0, w.h, w.kh, &kiLo, &kiHi);
        fr_clip(w0, w.w, w.kw, &kjLo, &kjHi);
        float sum = 0.0f;
        for (int ki = kiLo; ki < kiHi; ki++)
            for (int kj = kjLo; kj < kjHi; kj++) sum += xp[(h0 + ki) * w.w + w0 + kj];
        int div = countIncludePad ? w.kh * w.kw : (kiHi - kiLo) * (kjHi - kjLo);
        y[t] = div == 0 ? fr_nan() : sum / div;
    }
}

// gx[pix] = Σ over outputs (increasing) whose window holds pix of gy[o] / divisor(o).
extern "C" __global__ void fr_avg_pool2d_backward(const float* gy, float* gx, int planes, FrWin w, int countIncludePad)
{
    long long hw = (long long)w.h * w.w, ohw = (long long)w.oh * w.ow;
    FR_GRID_LOOP(t, (long long)planes * hw)
    {
        long long plane = t / hw;
        int pix = (int)(t - plane * hw), ih = pix / w.w, iw = pix % w.w;
        const float* g = gy + plane * ohw;
        float acc = 0.0f;
        for (int ki = w.kh - 1; ki >= 0; ki--)
        {
            int nh = ih + w.ph - ki;
            if (nh < 0 || nh % w.sh != 0) continue;
            int oh = nh / w.sh;
            if (oh >= w.oh) continue;
            for (int kj = w.kw - 1; kj >= 0; kj--)
            {
                int nw = iw + w.pw - kj;
                if (nw < 0 || nw % w.sw != 0) continue;
                int ow = nw / w.sw;
                if (ow >= w.ow) continue;
                int div = fr_avg_divisor(w, countIncludePad, oh, ow);
                if (div == 0) continue;
                acc += g[oh * w.ow + ow] / div;
            }
        }
        gx[t] = acc;
    }
}

// PyTorch's adaptive bin of output i: [floor(i·L/O), ceil((i+1)·L/O)).
__device__ __forceinline__ int fr_bin_start(int i, int len, int out) { return (int)(((long long)i * len) / out); }
__device__ __forceinline__ int fr_bin_end(int i, int len, int out) { return (int)(((long long)(i + 1) * len + out - 1) / out); }

extern "C" __global__ void fr_adaptive_avg_pool2d(const float* x, float* y, int planes, int h, int w, int oh, int ow)
{
    long long ohw = (long long)oh * ow;
    FR_GRID_LOOP(t, (long long)planes * ohw)
    {
        long long plane = t / ohw;
        int o = (int)(t - plane * ohw), i = o / ow, j = o % ow;
        int h0 = fr_bin_start(i, h, oh), h1 = fr_bin_end(i, h, oh);
        int w0 = fr_bin_start(j, w, ow), w1 = fr_bin_end(j, w, ow);
        const float* xp = x + plane * h * w;
        float sum = 0.0f;
        for (int r = h0; r < h1; r++)
        {
            float row = 0.0f;
            for (int q = w0; q < w1; q++) row += xp[(long long)r * w + q];
            sum += row;
        }
        y[t] = sum / ((h1 - h0) * (w1 - w0));
    }
}

extern "C" __global__ void fr_adaptive_avg_pool2d_backward(const float* gy, float* gx, int planes, int h, int w, int oh, int ow)
{
    long long hw = (long long)h * w;
    FR_GRID_LOOP(t, (long long)planes * hw)
    {
        long long plane = t / hw;
        int pix = (int)(t - plane * hw), ih = pix / w, iw = pix % w;
        const float* g = gy + plane * (long long)oh * ow;
        float acc = 0.0f;
        for (int i = 0; i < oh; i++)
        {
            int h0 = fr_bin_start(i, h, oh), h1 = fr_bin_end(i, h, oh);
            if (ih < h0 || ih >= h1) continue;
            for (int j = 0; j < ow; j++)
            {
                int w0 = fr_bin_start(j, w, ow), w1 = fr_bin_end(j, w, ow);
                if (iw < w0 || iw >= w1) continue;
                acc += g[i * ow + j] / ((h1 - h0) * (w1 - w0));
            }
        }
        gx[t] = acc;
    }
}
""";
}
