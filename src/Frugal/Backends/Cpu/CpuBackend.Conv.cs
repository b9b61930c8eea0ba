using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// CPU kernels of convolution (im2col, col2im, channel fill) and pooling. Each works plane by plane
/// ([n, c] pairs), so planes split across cores without write conflicts; row segments at stride 1 are
/// block copies / SIMD adds, window bounds are clipped once per row instead of tested per tap, and max
/// pooling selects in AVX2 registers rather than branching.
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>Items per parallel chunk so that each chunk does about <see cref="Threading.ParallelThreshold"/> element operations.
    /// At least 2: Threading.For halves the grain.</summary>

    internal static void CheckPlanes(string op, Tensor x, Window2d w)
    {
        if (x.Rank != 4 || x.Shape[2] != w.Height || x.Shape[3] != w.Width)
            throw new ArgumentException($"{op}: tensor {x.Shape} does not match the window's {w.Height}x{w.Width} planes");
    }

    /// <summary>Output positions o in [0, outLen) whose input index o·stride + offset lies in [0, inLen), as [lo, hi).</summary>
    static (int Lo, int Hi) ValidRange(int offset, int stride, int inLen, int outLen)
    {
        int lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        int last = inLen - 1 - offset;              // o·stride ≤ last
        int hi = last < 0 ? 0 : Math.Min(outLen, last / stride + 1);
        return (Math.Min(lo, outLen), Math.Max(hi, Math.Min(lo, outLen)));
    }

    public void Im2Col(Tensor x, Window2d w, Tensor col, int imageStride, int rowStride)
    {
        CheckPlanes("im2col", x, w);
        int count = x.Shape[0], c = x.Shape[1], hw = w.Height * w.Width, taps = w.Taps;
        var xd = Data(x); var cd = Data(col);
        int xo = x.Offset, co = col.Offset;
        Threading.For(count * c, (s, e) =>
        {
            for (int item = s; item < e; item++)
            {
                int n = item / c, ch = item - n * c;
                Im2ColPlane(xd, xo + item * hw, w, cd, co + n * imageStride + ch * taps * rowStride, rowStride);
            }
        }, Threading.Grain((long)taps * w.OutH * w.OutW));
    }

    /// <summary>
    /// Whether a tap's valid output rows read one contiguous run of the input: at stride 1 with
    /// OutW = Width ("same" padding) output and input rows have the same pitch, so the whole tap is one
    /// shifted block copy plus a few wrapped edge columns to fix, instead of one short copy per row.
    /// </summary>
    static bool ShiftedBlock(Window2d w) => w.StrideH == 1 && w.StrideW == 1 && w.OutW == w.Width;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Im2ColPlane(float[] xd, int src, Window2d w, float[] cd, int rowBase, int rowStride)
    {
        int outH = w.OutH, outW = w.OutW;
        bool block = ShiftedBlock(w);
        for (int ki = 0; ki < w.KernelH; ki++)
        {
            int ihOff = ki * w.DilationH - w.PadH;
            var (ohLo, ohHi) = ValidRange(ihOff, w.StrideH, w.Height, outH);
            for (int kj = 0; kj < w.KernelW; kj++)
            {
                int iwOff = kj * w.DilationW - w.PadW;
                var (owLo, owHi) = ValidRange(iwOff, w.StrideW, w.Width, outW);
                var row = cd.AsSpan(rowBase + (ki * w.KernelW + kj) * rowStride, outH * outW);
                if (ohHi <= ohLo || owHi <= owLo) { row.Clear(); continue; }
                // Output rows whose input row lies in the padding are zeros.
                row[..(ohLo * outW)].Clear();
                row[(ohHi * outW)..].Clear();
                if (block)
                {
                    int t0 = ohLo * outW + owLo, t1 = (ohHi - 1) * outW + owHi;
                    xd.AsSpan(src + t0 + ihOff * w.Width + iwOff, t1 - t0).CopyTo(row[t0..]);
                    // The block copy wrapped the neighbouring input row into the padded edge columns.
                    for (int oh = ohLo; oh < ohHi; oh++)
                    {
                        int r = oh * outW;
                        for (int ow = 0; ow < owLo; ow++) row[r + ow] = 0;
                        for (int ow = owHi; ow < outW; ow++) row[r + ow] = 0;
                    }
                    continue;
                }
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    int r = oh * outW, srcRow = src + (oh * w.StrideH + ihOff) * w.Width + iwOff;
                    row.Slice(r, owLo).Clear();
                    if (w.StrideW == 1) xd.AsSpan(srcRow + owLo, owHi - owLo).CopyTo(row[(r + owLo)..]);
                    else for (int ow = owLo; ow < owHi; ow++) row[r + ow] = xd[srcRow + ow * w.StrideW];
                    row.Slice(r + owHi, outW - owHi).Clear();
                }
            }
        }
    }

    public void Col2Im(Tensor col, int imageStride, int rowStride, Window2d w, Tensor dx)
    {
        CheckPlanes("col2im", dx, w);
        int count = dx.Shape[0], c = dx.Shape[1], hw = w.Height * w.Width, taps = w.Taps;
        var cd = Data(col); var dd = Data(dx);
        int co = col.Offset, dO = dx.Offset;
        Threading.For(count * c, (s, e) =>
        {
            for (int item = s; item < e; item++)
            {
                int n = item / c, ch = item - n * c;
                Col2ImPlane(cd, co + n * imageStride + ch * taps * rowStride, rowStride, w, dd, dO + item * hw);
            }
        }, Threading.Grain((long)taps * w.OutH * w.OutW));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Col2ImPlane(float[] cd, int rowBase, int rowStride, Window2d w, float[] dd, int dst)
    {
        int outH = w.OutH, outW = w.OutW;
        bool block = ShiftedBlock(w);
        dd.AsSpan(dst, w.Height * w.Width).Clear();
        for (int ki = 0; ki < w.KernelH; ki++)
        {
            int ihOff = ki * w.DilationH - w.PadH;
            var (ohLo, ohHi) = ValidRange(ihOff, w.StrideH, w.Height, outH);
            for (int kj = 0; kj < w.KernelW; kj++)
            {
                int iwOff = kj * w.DilationW - w.PadW;
                var (owLo, owHi) = ValidRange(iwOff, w.StrideW, w.Width, outW);
                if (ohHi <= ohLo || owHi <= owLo) continue;
                var row = cd.AsSpan(rowBase + (ki * w.KernelW + kj) * rowStride, outH * outW);
                if (block)
                {
                    // Zero the entries that read padding (the interface lets col2im overwrite them), then one shifted block add.
                    for (int oh = ohLo; oh < ohHi; oh++)
                    {
                        int r = oh * outW;
                        for (int ow = 0; ow < owLo; ow++) row[r + ow] = 0;
                        for (int ow = owHi; ow < outW; ow++) row[r + ow] = 0;
                    }
                    int t0 = ohLo * outW + owLo, t1 = (ohHi - 1) * outW + owHi;
                    var acc = dd.AsSpan(dst + t0 + ihOff * w.Width + iwOff, t1 - t0);
                    TensorPrimitives.Add(acc, row[t0..t1], acc);
                    continue;
                }
                for (int oh = ohLo; oh < ohHi; oh++)
                {
                    int r = oh * outW, dstRow = dst + (oh * w.StrideH + ihOff) * w.Width + iwOff;
                    if (w.StrideW == 1)
                    {
                        var acc = dd.AsSpan(dstRow + owLo, owHi - owLo);
                        TensorPrimitives.Add(acc, row.Slice(r + owLo, owHi - owLo), acc);
                    }
                    else for (int ow = owLo; ow < owHi; ow++) dd[dstRow + ow * w.StrideW] += row[r + ow];
                }
            }
        }
    }

    public void FillChannels(Tensor y, Tensor values)
    {
        int c = values.Numel;
        if (y.Rank < 2 || y.Shape[1] != c)
            throw new ArgumentException($"fill_channels: tensor {y.Shape} does not have {c} channels on axis 1");
        int rows = y.Shape[0] * c, inner = rows == 0 ? 0 : y.Numel / rows;
        var yd = Data(y); var vd = Data(values);
        int yo = y.Offset, vo = values.Offset;
        Threading.For(rows, (s, e) =>
        {
            for (int r = s; r < e; r++) yd.AsSpan(yo + r * inner, inner).Fill(vd[vo + r % c]);
        }, Threading.Grain(inner));
    }

    // ---- pooling -------------------------------------------------------------------------------

    public void MaxPool2d(Tensor x, Window2d w, Tensor y, Tensor? indices)
    {
        CheckPlanes("max_pool2d", x, w);
        int planes = x.Shape[0] * x.Shape[1], hw = w.Height * w.Width, outH = w.OutH, outW = w.OutW, ohw = outH * outW;
        var xd = Data(x); var yd = Data(y); var id = indices == null ? null : Data(indices);
        int xo = x.Offset, yo = y.Offset, io = indices?.Offset ?? 0;
        bool inside = w.PadH == 0 && w.PadW == 0 && w.DilationH == 1 && w.DilationW == 1;
        Threading.For(planes, (s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                int src = xo + p * hw, dst = p * ohw;
                if (inside)
                {
                    MaxPoolPlaneInside(xd, src, w, yd, yo + dst, id, io + dst);
                    continue;
                }
                for (int oh = 0; oh < outH; oh++)
                {
                    int h0 = oh * w.StrideH - w.PadH;
                    var (kiLo, kiHi) = ValidRange(h0, w.DilationH, w.Height, w.KernelH);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int w0 = ow * w.StrideW - w.PadW;
                        var (kjLo, kjHi) = ValidRange(w0, w.DilationW, w.Width, w.KernelW);
                        float best = float.NegativeInfinity;
                        int arg = -1;
                        for (int ki = kiLo; ki < kiHi; ki++)
                        {
                            int rowIdx = (h0 + ki * w.DilationH) * w.Width + w0;
                            for (int kj = kjLo; kj < kjHi; kj++)
                            {
                                int at = rowIdx + kj * w.DilationW;
                                float v = xd[src + at];
                                // NaN propagates (PyTorch): once taken, nothing compares greater.
                                if (v > best || float.IsNaN(v) || arg < 0) { best = v; arg = at; if (float.IsNaN(v)) goto done; }
                            }
                        }
                    done:
                        int o = dst + oh * outW + ow;
                        yd[yo + o] = best;
                        if (id != null) id[io + o] = arg;
                    }
                }
            }
        }, Threading.Grain((long)ohw * w.Taps));
    }

    /// <summary>
    /// Max pooling of one plane when every window lies inside it (no padding, no dilation): the hot 2×2 pooling of the CNNs.
    /// Eight outputs of a row at a time in AVX2 registers, with compare-and-select instead of branches: on real data
    /// "v &gt; best" is a coin flip, and the scalar loop spent ~15 ns per 2×2 output on mispredictions (measured, both
    /// with branches and with ternaries, since the JIT has no float cmov).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void MaxPoolPlaneInside(float[] xd, int src, Window2d w, float[] yd, int dst, float[]? id, int idst)
    {
        int outH = w.OutH, outW = w.OutW, width = w.Width, kh = w.KernelH, kw = w.KernelW, sh = w.StrideH, sw = w.StrideW;
        var lanes = Vector256.Create(0f, 1, 2, 3, 4, 5, 6, 7) * sw;
        fixed (float* x0 = xd, y0 = yd, i0 = id)
        {
            float* xp = x0 + src, yp = y0 + dst, ip = i0 == null ? null : i0 + idst, xEnd = x0 + xd.Length;
            for (int oh = 0; oh < outH; oh++)
            {
                int ow = 0;
                if (Avx2.IsSupported)
                {
                    for (; ow < outW; ow += 8)
                    {
                        int at0 = oh * sh * width + ow * sw;
                        // Loads may run past the row (lanes beyond outW are dropped) but never past the array.
                        if (xp + at0 + (kh - 1) * width + kw - 1 + 8 * sw > xEnd) break;
                        var atv = Vector256.Create((float)at0) + lanes;
                        var best = LoadStrided(xp + at0, sw);
                        var arg = atv;
                        for (int ki = 0; ki < kh; ki++)
                            for (int kj = ki == 0 ? 1 : 0; kj < kw; kj++)
                            {
                                int off = ki * width + kj;
                                var v = LoadStrided(xp + at0 + off, sw);
                                // NaN propagates (PyTorch): it replaces any number and is never replaced.
                                var take = Vector256.GreaterThan(v, best) | (~Vector256.Equals(v, v) & Vector256.Equals(best, best));
                                best = Vector256.ConditionalSelect(take, v, best);
                                arg = Vector256.ConditionalSelect(take, atv + Vector256.Create((float)off), arg);
                            }
                        int o = oh * outW + ow, cnt = Math.Min(8, outW - ow);
                        if (cnt == 8)
                        {
                            best.Store(yp + o);
                            if (ip != null) arg.Store(ip + o);
                        }
                        else
                            for (int l = 0; l < cnt; l++)
                            {
                                yp[o + l] = best.GetElement(l);
                                if (ip != null) ip[o + l] = arg.GetElement(l);
                            }
                    }
                }
                for (; ow < outW; ow++)
                {
                    int at0 = oh * sh * width + ow * sw, arg = at0;
                    float best = xp[at0];
                    for (int ki = 0; ki < kh; ki++)
                        for (int kj = 0; kj < kw; kj++)
                        {
                            int at = at0 + ki * width + kj;
                            float v = xp[at];
                            if (v > best || (float.IsNaN(v) && !float.IsNaN(best))) { best = v; arg = at; }
                        }
                    yp[oh * outW + ow] = best;
                    if (ip != null) ip[oh * outW + ow] = arg;
                }
            }
        }
    }

    /// <summary>p[0], p[s], …, p[7s]: one load at stride 1, two loads and a deinterleave at stride 2, element loads beyond.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe Vector256<float> LoadStrided(float* p, int s)
    {
        if (s == 1) return Vector256.Load(p);
        if (s == 2)
        {
            // [a0 a2 b0 b2 | a4 a6 b4 b6], then 64-bit lanes reordered to [a0 a2 a4 a6 b0 b2 b4 b6].
            var even = Avx.Shuffle(Vector256.Load(p), Vector256.Load(p + 8), 0b10_00_10_00);
            return Avx2.Permute4x64(even.AsDouble(), 0b11_01_10_00).AsSingle();
        }
        return Vector256.Create(p[0], p[s], p[2 * s], p[3 * s], p[4 * s], p[5 * s], p[6 * s], p[7 * s]);
    }

    public void MaxPool2dBackward(Tensor gy, Tensor indices, Window2d w, Tensor gx)
    {
        CheckPlanes("max_pool2d_backward", gx, w);
        int planes = gx.Shape[0] * gx.Shape[1], hw = w.Height * w.Width, ohw = w.OutH * w.OutW;
        var gyd = Data(gy); var id = Data(indices); var gxd = Data(gx);
        int gyo = gy.Offset, io = indices.Offset, gxo = gx.Offset;
        Threading.For(planes, (s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                int dst = gxo + p * hw;
                gxd.AsSpan(dst, hw).Clear();
                // Overlapping windows may share a maximum: accumulate.
                for (int o = p * ohw, end = o + ohw; o < end; o++)
                {
                    int at = (int)id[io + o];
                    if (at >= 0) gxd[dst + at] += gyd[gyo + o];
                }
            }
        }, Threading.Grain(hw + ohw));
    }

    /// <summary>The divisor of one average-pool window whose in-input taps are [kiLo, kiHi)×[kjLo, kjHi).</summary>
    static int AvgDivisor(Window2d w, bool countIncludePad, int kiLo, int kiHi, int kjLo, int kjHi) =>
        countIncludePad ? w.Taps : (kiHi - kiLo) * (kjHi - kjLo);

    public void AvgPool2d(Tensor x, Window2d w, bool countIncludePad, Tensor y)
    {
        CheckPlanes("avg_pool2d", x, w);
        int planes = x.Shape[0] * x.Shape[1], hw = w.Height * w.Width, outH = w.OutH, outW = w.OutW, ohw = outH * outW;
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        Threading.For(planes, (s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                int src = xo + p * hw, dst = yo + p * ohw;
                for (int oh = 0; oh < outH; oh++)
                {
                    int h0 = oh * w.StrideH - w.PadH;
                    var (kiLo, kiHi) = ValidRange(h0, 1, w.Height, w.KernelH);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int w0 = ow * w.StrideW - w.PadW;
                        var (kjLo, kjHi) = ValidRange(w0, 1, w.Width, w.KernelW);
                        float sum = 0;
                        for (int ki = kiLo; ki < kiHi; ki++)
                        {
                            int r = src + (h0 + ki) * w.Width + w0;
                            for (int kj = kjLo; kj < kjHi; kj++) sum += xd[r + kj];
                        }
                        int div = AvgDivisor(w, countIncludePad, kiLo, kiHi, kjLo, kjHi);
                        yd[dst + oh * outW + ow] = div == 0 ? float.NaN : sum / div;
                    }
                }
            }
        }, Threading.Grain((long)ohw * w.Taps));
    }

    public void AvgPool2dBackward(Tensor gy, Window2d w, bool countIncludePad, Tensor gx)
    {
        CheckPlanes("avg_pool2d_backward", gx, w);
        int planes = gx.Shape[0] * gx.Shape[1], hw = w.Height * w.Width, outH = w.OutH, outW = w.OutW, ohw = outH * outW;
        var gyd = Data(gy); var gxd = Data(gx);
        int gyo = gy.Offset, gxo = gx.Offset;
        Threading.For(planes, (s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                int dst = gxo + p * hw, src = gyo + p * ohw;
                gxd.AsSpan(dst, hw).Clear();
                for (int oh = 0; oh < outH; oh++)
                {
                    int h0 = oh * w.StrideH - w.PadH;
                    var (kiLo, kiHi) = ValidRange(h0, 1, w.Height, w.KernelH);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int w0 = ow * w.StrideW - w.PadW;
                        var (kjLo, kjHi) = ValidRange(w0, 1, w.Width, w.KernelW);
                        int div = AvgDivisor(w, countIncludePad, kiLo, kiHi, kjLo, kjHi);
                        if (div == 0) continue;
                        float g = gyd[src + oh * outW + ow] / div;
                        for (int ki = kiLo; ki < kiHi; ki++)
                        {
                            int r = dst + (h0 + ki) * w.Width + w0;
                            for (int kj = kjLo; kj < kjHi; kj++) gxd[r + kj] += g;
                        }
                    }
                }
            }
        }, Threading.Grain((long)ohw * w.Taps));
    }

    /// <summary>PyTorch's adaptive bin [⌊i·L/O⌋, ⌈(i+1)·L/O⌉).</summary>
    static (int Start, int End) Bin(int i, int inLen, int outLen) =>
        ((int)((long)i * inLen / outLen), (int)(((long)(i + 1) * inLen + outLen - 1) / outLen));

    public void AdaptiveAvgPool2d(Tensor x, Tensor y)
    {
        int planes = x.Shape[0] * x.Shape[1], h = x.Shape[2], wd = x.Shape[3], outH = y.Shape[2], outW = y.Shape[3];
        int hw = h * wd, ohw = outH * outW;
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        Threading.For(planes, (s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                int src = xo + p * hw, dst = yo + p * ohw;
                for (int oh = 0; oh < outH; oh++)
                {
                    var (h0, h1) = Bin(oh, h, outH);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        var (w0, w1) = Bin(ow, wd, outW);
                        float sum = 0;
                        for (int ih = h0; ih < h1; ih++)
                            sum += TensorPrimitives.Sum<float>(xd.AsSpan(src + ih * wd + w0, w1 - w0));
                        yd[dst + oh * outW + ow] = sum / ((h1 - h0) * (w1 - w0));
                    }
                }
            }
        }, Threading.Grain(hw + ohw));
    }

    public void AdaptiveAvgPool2dBackward(Tensor gy, Tensor gx)
    {
        int planes = gx.Shape[0] * gx.Shape[1], h = gx.Shape[2], wd = gx.Shape[3], outH = gy.Shape[2], outW = gy.Shape[3];
        int hw = h * wd, ohw = outH * outW;
        var gyd = Data(gy); var gxd = Data(gx);
        int gyo = gy.Offset, gxo = gx.Offset;
        Threading.For(planes, (s, e) =>
        {
            for (int p = s; p < e; p++)
            {
                int dst = gxo + p * hw, src = gyo + p * ohw;
                gxd.AsSpan(dst, hw).Clear();
                for (int oh = 0; oh < outH; oh++)
                {
                    var (h0, h1) = Bin(oh, h, outH);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        var (w0, w1) = Bin(ow, wd, outW);
                        float g = gyd[src + oh * outW + ow] / ((h1 - h0) * (w1 - w0));
                        // Bins overlap when the sizes do not divide: accumulate.
                        for (int ih = h0; ih < h1; ih++)
                        {
                            var row = gxd.AsSpan(dst + ih * wd + w0, w1 - w0);
                            TensorPrimitives.Add(row, g, row);
                        }
                    }
                }
            }
        }, Threading.Grain(2L * hw));
    }
}
