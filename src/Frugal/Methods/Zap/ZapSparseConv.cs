using System.Numerics;
using System.Runtime.InteropServices;
using Frugal.Autograd;
using Frugal.Backends.Cpu;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Zap;

/// <summary>
/// ZAP's real savings (../shared/METHODS.md §6): a conv → BN (eval) → ReLU block whose predicted-zero outputs are never
/// computed. First the pattern's positions, for every channel: im2col of those positions only and one GEMM; then the
/// predictor on that partial map; then, per image and remaining position, the dot products of only the channels the mask
/// keeps (weights rows against the position's im2col column, four channels per pass). The result equals
/// relu(bn(conv(x))) ⊙ m. CPU only (host loops over the data; the dense GEMM goes to the backend).
/// </summary>
public static class ZapSparseConv
{
    /// <summary>
    /// relu(bn(conv(x))) ⊙ m for x [N, C_in, H, W], m = 1[u + 10⁵·P &gt; t] from <paramref name="predictor"/>, and how
    /// many (image, channel, position) outputs were skipped. <paramref name="bn"/> may be null (conv → ReLU).
    /// </summary>
    public static (Tensor Y, long Skipped) Forward(Tensor x, Conv2d conv, BatchNorm2d? bn, ZapPredictor predictor, double threshold)
    {
        if (x.Device != Device.Cpu) throw new NotSupportedException($"zap sparse conv: runs on the CPU only, the input is on {x.Device}");
        if (conv.Groups != 1) throw new NotSupportedException($"zap sparse conv: grouped convolutions (groups {conv.Groups}) are not supported");
        using var _ = GradMode.NoGrad();
        int n = x.Shape[0], cin = x.Shape[1], h = x.Shape[2], w = x.Shape[3], cout = conv.OutChannels;
        var win = new Backends.Window2d(h, w, conv.KernelSize.H, conv.KernelSize.W, conv.Stride.H, conv.Stride.W,
            conv.Padding.H, conv.Padding.W, conv.Dilation.H, conv.Dilation.W);
        int oh = win.OutH, ow = win.OutW, plane = oh * ow, k = cin * win.Taps;
        var (scale, shift) = Affine(conv, bn, cout);
        var xs = x.Storage.HostArray!;
        int xoff = x.Offset, taps = win.Taps, hw = h * w;
        var offsets = InputOffsets(win);
        var weights = conv.Weight.ToArray();
        var y = Tensor.Zeros(new Shape(n, cout, oh, ow));
        var ys = y.Storage.HostArray!;

        // 1. The pattern's positions, densely: col [K, N·|P|], one GEMM W [Cout, K] · col.
        var computed = predictor.Pattern.Positions(oh, ow, computed: true);
        int np = computed.Length;
        var col = Tensor.Uninitialized(new Shape(k, n * np));
        var cs = col.Storage.HostArray!;
        Threading.For(k, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
                for (int img = 0; img < n; img++)
                    for (int i = 0; i < np; i++)
                        {
                        int o = offsets[computed[i] * taps + r % taps];
                        cs[r * n * np + img * np + i] = o < 0 ? 0 : xs[xoff + (img * cin + r / taps) * hw + o];
                    }
        }, grain: 1);
        var yp = conv.Weight.View(new Shape(cout, k)).Matmul(col).Span.ToArray();
        for (int c = 0; c < cout; c++)
            for (int img = 0; img < n; img++)
                for (int i = 0; i < np; i++)
                    ys[(img * cout + c) * plane + computed[i]] = Math.Max(0, scale[c] * yp[c * n * np + img * np + i] + shift[c]);

        // 2. The predictor on the partial map (its input is x ⊙ P by construction).
        var u = PredictorScores(predictor, ys, n, oh, ow);

        // 3. The remaining positions, only the kept channels.
        var rest = predictor.Pattern.Positions(oh, ow, computed: false);
        long skipped = 0;
        var perImage = new long[n];
        Threading.For(n, (i0, i1) =>
        {
            var column = new float[k];
            var kept = new int[cout];
            var dots = new float[cout];
            for (int img = i0; img < i1; img++)
            {
                long skip = 0;
                foreach (int p in rest)
                {
                    int nk = 0;
                    for (int c = 0; c < cout; c++)
                        if (u[(img * cout + c) * plane + p] > threshold) kept[nk++] = c;
                    skip += cout - nk;
                    if (nk == 0) continue;
                    for (int c = 0; c < cin; c++)
                        for (int t = 0; t < taps; t++)
                        {
                            int o = offsets[p * taps + t];
                            column[c * taps + t] = o < 0 ? 0 : xs[xoff + (img * cin + c) * hw + o];
                        }
                    KeptDots(weights, k, column, kept.AsSpan(0, nk), dots);
                    for (int j = 0; j < nk; j++)
                    {
                        int c = kept[j];
                        ys[(img * cout + c) * plane + p] = Math.Max(0, scale[c] * dots[j] + shift[c]);
                    }
                }
                perImage[img] = skip;
            }
        }, grain: 1);
        foreach (var s in perImage) skipped += s;
        return (y, skipped);
    }

    /// <summary>
    /// The predictor's u in eval mode on a partial map that is already x ⊙ P, by direct depthwise 3×3 loops with each BN
    /// folded into a per-channel affine: the general grouped conv (one GEMM per channel) costs more than the block saves.
    /// </summary>
    static float[] PredictorScores(ZapPredictor predictor, float[] y, int n, int h, int w)
    {
        var (w1, s1, b1, w2, s2, b2) = predictor.Folded();
        int c = predictor.Channels, plane = h * w;
        var mid = new float[y.Length];
        var u = new float[y.Length];
        var computedMask = predictor.Pattern.Mask(h, w);
        Threading.For(n * c, (i0, i1) =>
        {
            for (int i = i0; i < i1; i++)
            {
                int ch = i % c, off = i * plane;
                Depthwise3x3(y, off, w1, ch * 9, h, w, mid, s1[ch], b1[ch], relu: true);
                Depthwise3x3(mid, off, w2, ch * 9, h, w, u, s2[ch], b2[ch], relu: false);
                for (int p = 0; p < plane; p++) if (computedMask[p] != 0) u[off + p] = 0;
            }
        }, grain: 1);
        return u;
    }

    /// <summary>dst = scale·(3×3 cross-correlation of one plane, zero padding 1) + shift, optionally through ReLU.</summary>
    static void Depthwise3x3(float[] src, int off, float[] k, int k0, int h, int w, float[] dst, float scale, float shift, bool relu)
    {
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
            {
                float acc = 0;
                for (int di = -1; di <= 1; di++)
                {
                    int r = i + di;
                    if ((uint)r >= (uint)h) continue;
                    for (int dj = -1; dj <= 1; dj++)
                    {
                        int q = j + dj;
                        if ((uint)q < (uint)w) acc += k[k0 + (di + 1) * 3 + dj + 1] * src[off + r * w + q];
                    }
                }
                float v = scale * acc + shift;
                dst[off + i * w + j] = relu ? Math.Max(0, v) : v;
            }
    }

    /// <summary>The dense reference: relu(bn(conv(x))) through the ordinary ops, eval mode.</summary>
    public static Tensor Dense(Tensor x, Conv2d conv, BatchNorm2d? bn)
    {
        using var _ = GradMode.NoGrad();
        var z = conv.Call(x);
        return (bn != null ? bn.Call(z) : z).Relu();
    }

    /// <summary>Eval-mode BN folded with the conv bias: y = scale·(W·col) + shift.</summary>
    static (float[] Scale, float[] Shift) Affine(Conv2d conv, BatchNorm2d? bn, int cout)
    {
        var scale = Enumerable.Repeat(1f, cout).ToArray();
        var shift = conv.Bias?.ToArray() ?? new float[cout];
        if (bn == null) return (scale, shift);
        if (bn.Training) throw new InvalidOperationException("zap sparse conv: the BatchNorm must be in eval mode (running statistics)");
        var mean = bn.RunningMean?.ToArray() ?? new float[cout];
        var var = bn.RunningVar?.ToArray() ?? Enumerable.Repeat(1f, cout).ToArray();
        var gamma = bn.Weight?.ToArray() ?? Enumerable.Repeat(1f, cout).ToArray();
        var beta = bn.Bias?.ToArray() ?? new float[cout];
        for (int c = 0; c < cout; c++)
        {
            float s = gamma[c] / MathF.Sqrt(var[c] + bn.Eps);
            shift[c] = s * (shift[c] - mean[c]) + beta[c];
            scale[c] = s;
        }
        return (scale, shift);
    }

    /// <summary>For output position p and tap t (ki·kw + kj), the input pixel's offset ih·W + iw in its plane, or −1 in the padding.</summary>
    static int[] InputOffsets(Backends.Window2d win)
    {
        int outW = win.OutW, positions = win.OutH * outW;
        var off = new int[positions * win.Taps];
        for (int p = 0; p < positions; p++)
            for (int t = 0; t < win.Taps; t++)
            {
                int ih = p / outW * win.StrideH - win.PadH + t / win.KernelW * win.DilationH;
                int iw = p % outW * win.StrideW - win.PadW + t % win.KernelW * win.DilationW;
                off[p * win.Taps + t] = (uint)ih < (uint)win.Height && (uint)iw < (uint)win.Width ? ih * win.Width + iw : -1;
            }
        return off;
    }

    /// <summary>dots[j] = W[kept[j], :] · column, four weight rows per pass over the column (its loads shared).</summary>
    static void KeptDots(float[] weights, int k, float[] column, ReadOnlySpan<int> kept, float[] dots)
    {
        var col = MemoryMarshal.Cast<float, Vector<float>>(column.AsSpan(0, k - k % Vector<float>.Count));
        int vec = col.Length * Vector<float>.Count, j = 0;
        for (; j + 4 <= kept.Length; j += 4)
        {
            var w0 = MemoryMarshal.Cast<float, Vector<float>>(weights.AsSpan(kept[j] * k, vec));
            var w1 = MemoryMarshal.Cast<float, Vector<float>>(weights.AsSpan(kept[j + 1] * k, vec));
            var w2 = MemoryMarshal.Cast<float, Vector<float>>(weights.AsSpan(kept[j + 2] * k, vec));
            var w3 = MemoryMarshal.Cast<float, Vector<float>>(weights.AsSpan(kept[j + 3] * k, vec));
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int v = 0; v < col.Length; v++)
            {
                var cv = col[v];
                a0 += w0[v] * cv; a1 += w1[v] * cv; a2 += w2[v] * cv; a3 += w3[v] * cv;
            }
            float s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
            for (int r = vec; r < k; r++)
            {
                float cv = column[r];
                s0 += weights[kept[j] * k + r] * cv; s1 += weights[kept[j + 1] * k + r] * cv;
                s2 += weights[kept[j + 2] * k + r] * cv; s3 += weights[kept[j + 3] * k + r] * cv;
            }
            dots[j] = s0; dots[j + 1] = s1; dots[j + 2] = s2; dots[j + 3] = s3;
        }
        for (; j < kept.Length; j++)
            dots[j] = System.Numerics.Tensors.TensorPrimitives.Dot(weights.AsSpan(kept[j] * k, k), column.AsSpan(0, k));
    }
}
