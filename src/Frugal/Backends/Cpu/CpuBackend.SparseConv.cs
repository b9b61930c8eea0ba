using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// The backward products of a convolution from the non-zeros of a pruned gy (IBackend.Sparse.cs; Chmiel et al., ICLR
/// 2021, ../shared/METHODS.md section 1). Each image is turned channels-last (NHWC) and zero-padded, so the window of
/// an output pixel is taps rows of C contiguous floats. With C a multiple of 16 a window is taps·C/16 slots of 16
/// floats, and both products keep 18 slots (AVX-512, three kernel rows of 6: 3×3 windows with C a multiple of 32), else
/// 8 (AVX-512) or 4 (256-bit registers) in registers while they sum over a list of non-zeros: dw[co] over the non-zeros
/// of channel co, the dx window of pixel p over the non-zeros of pixel p (one load and one FMA per 16 floats). Other C: per non-zero, two short AXPYs per tap. Either way im2col and col2im
/// are skipped: they move kh·kw times the image and cost as much as the GEMMs they feed once the GEMM work has shrunk
/// with the density.
/// </summary>
public sealed partial class CpuBackend
{
    public unsafe void SparseConv2dBackward(Tensor gy, Tensor x, Tensor w, Window2d win, Tensor? dx, Tensor? dw)
    {
        if (x.Rank != 4 || w.Rank != 4 || w.Shape[1] != x.Shape[1] || w.Shape[2] != win.KernelH || w.Shape[3] != win.KernelW
            || x.Shape[2] != win.Height || x.Shape[3] != win.Width)
            throw new ArgumentException($"sparse_conv2d_backward: input {x.Shape} and weight {w.Shape} do not match the window {win} (groups 1)");
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], wd = x.Shape[3], cout = w.Shape[0], taps = win.Taps, s = win.OutH * win.OutW;
        if (gy.Shape != new Shape(n, cout, win.OutH, win.OutW) || (dx != null && dx.Shape != x.Shape) || (dw != null && dw.Shape != w.Shape))
            throw new ArgumentException($"sparse_conv2d_backward: gy {gy.Shape}, dx {dx?.Shape}, dw {dw?.Shape} do not match input {x.Shape} and weight {w.Shape}");
        if (dx == null && dw == null) return;

        // Offsets in the padded channels-last image: of each output pixel's window corner, and of each tap within a window.
        int wp = wd + 2 * win.PadW, plane = (h + 2 * win.PadH) * wp;
        var pixel = new int[s];
        for (int oy = 0, p = 0; oy < win.OutH; oy++)
            for (int ox = 0; ox < win.OutW; ox++, p++) pixel[p] = (oy * win.StrideH * wp + ox * win.StrideW) * c;
        var tap = new int[taps];
        for (int ki = 0, t = 0; ki < win.KernelH; ki++)
            for (int kj = 0; kj < win.KernelW; kj++, t++) tap[t] = (ki * win.DilationH * wp + kj * win.DilationW) * c;

        // w as [Cout, taps, C]: the C weights of one (co, tap) are contiguous, like the padded image's rows.
        float* wt = null;
        if (dx != null)
        {
            wt = AlignedFloats(cout * taps * c);
            var wd0 = Data(w);
            for (int o = 0; o < cout; o++)
                for (int ci = 0; ci < c; ci++)
                    for (int t = 0; t < taps; t++) wt[(o * taps + t) * c + ci] = wd0[w.Offset + (o * c + ci) * taps + t];
        }

        // Images split into one contiguous chunk per thread; each chunk sums its own dw, and the partial sums are added
        // in chunk order afterwards (deterministic, no write races).
        long work = (long)n * (cout * s + 3L * c * plane);
        int chunks = work < 4L * Threading.ParallelThreshold ? 1 : Math.Min(Threading.Threads, n);
        var partial = dw != null ? new nint[chunks] : null;
        // With C a multiple of 16, a window is taps·C/16 slots of 16 floats (slot r = tap r / (C/16), channel block
        // r % (C/16)), and both products accumulate whole slots in registers (see WeightSlots, InputSlots).
        int[]? slot = null;
        if (c % 16 == 0)
        {
            slot = new int[taps * c / 16];
            for (int r = 0; r < slot.Length; r++) slot[r] = tap[r / (c / 16)] + r % (c / 16) * 16;
        }
        // Three kernel rows whose taps are adjacent (dilation 1 along W) make a window 3 runs of KW·C/16 contiguous slots,
        // KernelRowStride floats apart; in blocks of 6 they fill 18 of the 32 AVX-512 registers (see Rows3x6).
        bool threeRows = Vector512.IsHardwareAccelerated && win.KernelH == 3 && win.DilationW == 1;
        int rowStride = slot != null && threeRows && win.KernelW * c / 16 % 6 == 0 ? win.DilationH * wp * c : 0;
        // A window row of at most 16 floats (a stem's few channels) is one vector: dw alone then walks each channel's
        // non-zeros with three rows in registers (NarrowRows3) instead of per-tap AXPYs of C floats.
        if (slot == null && threeRows && win.KernelW * c <= 16 && dx == null) rowStride = win.DilationH * wp * c;
        var job = new ConvJob(Data(gy), gy.Offset, Data(x), x.Offset, dx != null ? Data(dx) : null, dx?.Offset ?? 0, (nint)wt, partial,
            win, n, c, h, wd, cout, dw != null, pixel, tap, slot, rowStride, chunks);
        try
        {
            Threading.For(chunks, (c0, c1) => { for (int ch = c0; ch < c1; ch++) ConvChunk(job, ch); }, 1);
            if (dw != null)
            {
                // dw[co, ci, t] = Σ_chunks partial[(co·taps + t)·C + ci]
                var dwd = Data(dw);
                int dwo = dw.Offset;
                for (int o = 0; o < cout; o++)
                    for (int ci = 0; ci < c; ci++)
                        for (int t = 0; t < taps; t++)
                        {
                            int src = (o * taps + t) * c + ci;
                            float sum = ((float*)partial![0])[src];
                            for (int ch = 1; ch < chunks; ch++) sum += ((float*)partial[ch])[src];
                            dwd[dwo + (o * c + ci) * taps + t] = sum;
                        }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(wt);
            foreach (var a in partial ?? []) NativeMemory.AlignedFree((void*)a);
        }
    }

    /// <summary>
    /// Uninitialised floats on a 64-byte boundary (free with NativeMemory.AlignedFree): every 16-float slot of the padded
    /// images, of the weight rows and of the dw rows is then one cache line. A pooled array is only 8-byte aligned, so
    /// each 512-bit load of a slot touched two lines; the slot loops are bound by their loads, and a layer's whole sparse
    /// backward ran 1.2–1.7× slower for it (docs/RESULTS.md).
    /// </summary>
    static unsafe float* AlignedFloats(long count) => (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);

    sealed record ConvJob(float[] Gy, int GyOffset, float[] X, int XOffset, float[]? Dx, int DxOffset, nint Wt, nint[]? Partial,
        Window2d Win, int N, int C, int H, int W, int Cout, bool NeedsDw, int[] Pixel, int[] Tap, int[]? Slot, int RowStride, int Chunks);

    /// <summary>Images [N·ch/chunks, N·(ch+1)/chunks): padded dx per image, dw summed into Partial[ch] (its owner frees it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ConvChunk(ConvJob j, int ch)
    {
        var win = j.Win;
        int c = j.C, h = j.H, wd = j.W, cout = j.Cout, taps = win.Taps, s = win.OutH * win.OutW;
        int plane = (h + 2 * win.PadH) * (wd + 2 * win.PadW);
        int n0 = (int)((long)j.N * ch / j.Chunks), n1 = (int)((long)j.N * (ch + 1) / j.Chunks);
        float* pxp = null, pdxp = null, pdwp = null, pwt = (float*)j.Wt;
        if (j.NeedsDw)
        {
            // The border stays zero (only the interior is rewritten per image), and so do 16 floats past the end, which
            // the narrow windows' full-vector loads of a last row may reach.
            pxp = AlignedFloats(plane * c + 16);
            new Span<float>(pxp, plane * c + 16).Clear();
            pdwp = AlignedFloats(cout * taps * c);
            j.Partial![ch] = (nint)pdwp;
            new Span<float>(pdwp, cout * taps * c).Clear();
        }
        if (j.Dx != null) pdxp = AlignedFloats(plane * c);
        try
        {
            fixed (float* pgy = j.Gy, px = j.X, pdx = j.Dx)
            fixed (int* ppix = j.Pixel, ptap = j.Tap, pslot = j.Slot)
            {
                var scatter = new TapScatter { Taps = taps, C = c, Pixel = ppix, Tap = ptap, XPad = pxp, DxPad = pdxp };
                for (int img = n0; img < n1; img++)
                {
                    if (pxp != null) ToPaddedChannelsLast(px + j.XOffset + (long)img * c * h * wd, c, h, wd, win.PadH, win.PadW, pxp);
                    if (pdxp != null) new Span<float>(pdxp, plane * c).Clear();
                    float* gyn = pgy + j.GyOffset + (long)img * cout * s;
                    if (pslot != null || j.RowStride > 0)
                    {
                        // One compression by channel serves both products: dx's list by pixel is its transpose, taken
                        // before WeightSlots/NarrowWeights turn the pixel numbers into window corners in place.
                        var byChannel = SparseRows.Compress(gyn, false, cout, s);
                        var byPixel = pdxp != null ? byChannel.Transpose(cout, s) : null;
                        if (pslot == null) NarrowWeights(byChannel, cout, taps * c, ppix, win.KernelW * c, j.RowStride, pxp, pdwp);
                        else
                        {
                            if (pdwp != null) WeightSlots(byChannel, cout, taps * c, ppix, pslot, j.Slot!.Length, j.RowStride, pxp, pdwp);
                            if (byPixel != null) InputSlots(byPixel, s, taps * c, ppix, pslot, j.Slot!.Length, j.RowStride, pwt, pdxp);
                        }
                        byChannel.Return();
                        byPixel?.Return();
                    }
                    else
                        for (int o = 0; o < cout; o++)
                        {
                            scatter.W = pwt != null ? pwt + (long)o * taps * c : null;
                            scatter.Dw = pdwp != null ? pdwp + (long)o * taps * c : null;
                            ForNonZeros(gyn + (long)o * s, s, ref scatter);
                        }
                    if (pdxp != null) FromPaddedChannelsLast(pdxp, c, h, wd, win.PadH, win.PadW, pdx + j.DxOffset + (long)img * c * h * wd);
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(pxp);
            NativeMemory.AlignedFree(pdxp);
        }
    }

    /// <summary>
    /// dw[co] (taps·C floats, slot r at 16·r) += Σ over the non-zeros v at pixel p of gy[co] of v·(window of p in the padded
    /// image), from gy's non-zeros by channel (their pixel numbers are turned into window corners in place): each group
    /// of slots (18 in <see cref="Rows3x6"/>, else 8 or 4, then single ones) sums over the channel's whole list in registers,
    /// one load and one FMA per 16 floats and no store until the list ends.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void WeightSlots(SparseRows byChannel, int cout, int row, int* pixel, int* slot, int slots, int rowStride, float* xpad, float* dw)
    {
        fixed (int* start = byChannel.Start, corner = byChannel.Index)
        fixed (float* val = byChannel.Value)
        {
            for (long e = 0; e < byChannel.NonZeros; e++) corner[e] = pixel[corner[e]];   // pixel → its window's corner
            for (int o = 0; o < cout; o++)
            {
                int e0 = start[o], q = start[o + 1] - e0, r = 0;
                if (q == 0) continue;
                float* acc = dw + (long)o * row;
                if (rowStride > 0)
                    for (int rowSlots = slots / 3; r < rowSlots; r += 6)
                        Rows3x6(acc + 16 * r, 16 * rowSlots, xpad + 16 * r, rowStride, corner + e0, val + e0, q);
                else if (Vector512.IsHardwareAccelerated)
                {
                    for (; r + 8 <= slots; r += 8) GatherSlots8(acc + 16 * r, xpad, corner + e0, val + e0, q, slot + r);
                    for (; r < slots; r++) GatherSlots1(acc + 16 * r, xpad, corner + e0, val + e0, q, slot[r]);
                }
                else
                {
                    for (; r + 4 <= slots; r += 4) GatherSlots4Avx2(acc + 16 * r, xpad, corner + e0, val + e0, q, slot + r);
                    for (; r < slots; r++) GatherSlots1Avx2(acc + 16 * r, xpad, corner + e0, val + e0, q, slot[r]);
                }
            }
        }
    }

    /// <summary>
    /// dw[co] (taps·C floats) += Σ over the non-zeros v at pixel p of gy[co] of v·(window of p) for windows of three rows of
    /// <paramref name="rowLen"/> ≤ 16 contiguous floats, <paramref name="rowStride"/> apart in the padded image (the
    /// non-zeros by channel as in <see cref="WeightSlots"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void NarrowWeights(SparseRows byChannel, int cout, int row, int* pixel, int rowLen, int rowStride, float* xpad, float* dw)
    {
        fixed (int* start = byChannel.Start, corner = byChannel.Index)
        fixed (float* val = byChannel.Value)
        {
            for (long e = 0; e < byChannel.NonZeros; e++) corner[e] = pixel[corner[e]];
            for (int o = 0; o < cout; o++)
            {
                int e0 = start[o], q = start[o + 1] - e0;
                if (q > 0) NarrowRows3(dw + (long)o * row, rowLen, xpad, rowStride, corner + e0, val + e0, q);
            }
        }
    }

    /// <summary>
    /// acc[i·rowLen + j] += Σ_e val[e]·src[off[e] + i·srcRow + j] for i &lt; 3, j &lt; rowLen ≤ 16: each row is one vector
    /// (the lanes past rowLen sum neighbouring pixels and are dropped), and the even and odd entries sum apart, so six
    /// independent chains hide the FMA latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void NarrowRows3(float* acc, int rowLen, float* src, int srcRow, int* off, float* val, int q)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, b0 = default, b1 = default, b2 = default;
        int e = 0;
        for (; e + 2 <= q; e += 2)
        {
            float* r = src + off[e], t = src + off[e + 1];
            Vector512<float> v = Vector512.Create(val[e]), u = Vector512.Create(val[e + 1]);
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r), a0); b0 = Vector512.FusedMultiplyAdd(u, Vector512.Load(t), b0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + srcRow), a1); b1 = Vector512.FusedMultiplyAdd(u, Vector512.Load(t + srcRow), b1);
            a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 2 * srcRow), a2); b2 = Vector512.FusedMultiplyAdd(u, Vector512.Load(t + 2 * srcRow), b2);
        }
        if (e < q)
        {
            float* r = src + off[e];
            var v = Vector512.Create(val[e]);
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r), a0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + srcRow), a1);
            a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 2 * srcRow), a2);
        }
        float* sum = stackalloc float[48];
        (a0 + b0).Store(sum); (a1 + b1).Store(sum + 16); (a2 + b2).Store(sum + 32);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < rowLen; j++) acc[i * rowLen + j] += sum[16 * i + j];
    }

    /// <summary>
    /// The padded dx window of every output pixel p += Σ over the non-zeros v of gy[:, p] (channel co) of v·wt[co] (taps·C
    /// floats), from gy's non-zeros by pixel (their channel numbers are turned into weight offsets in place): pixel by
    /// pixel, each group of the window's slots (as in <see cref="WeightSlots"/>) sums the pixel's non-zeros in registers
    /// and is stored once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void InputSlots(SparseRows byPixel, int s, int row, int* pixel, int* slot, int slots, int rowStride, float* wt, float* dxpad)
    {
        fixed (int* start = byPixel.Start, wrow = byPixel.Index)
        fixed (float* val = byPixel.Value)
        {
            for (long e = 0; e < byPixel.NonZeros; e++) wrow[e] *= row;   // channel → offset of its weights
            for (int p = 0; p < s; p++)
            {
                int e0 = start[p], q = start[p + 1] - e0, r = 0;
                if (q == 0) continue;
                float* dst = dxpad + pixel[p];
                if (rowStride > 0)
                    for (int rowSlots = slots / 3; r < rowSlots; r += 6)
                        Rows3x6(dst + 16 * r, rowStride, wt + 16 * r, 16 * rowSlots, wrow + e0, val + e0, q);
                else if (Vector512.IsHardwareAccelerated)
                {
                    for (; r + 8 <= slots; r += 8) ScatterSlots8(dst, slot + r, wt + 16 * r, wrow + e0, val + e0, q);
                    for (; r < slots; r++) ScatterSlots1(dst + slot[r], wt + 16 * r, wrow + e0, val + e0, q);
                }
                else
                {
                    for (; r + 4 <= slots; r += 4) ScatterSlots4Avx2(dst, slot + r, wt + 16 * r, wrow + e0, val + e0, q);
                    for (; r < slots; r++) ScatterSlots1Avx2(dst + slot[r], wt + 16 * r, wrow + e0, val + e0, q);
                }
            }
        }
    }

    /// <summary>
    /// acc[i·accRow + 16j, + 16) += Σ_e val[e]·src[off[e] + i·srcRow + 16j, + 16) for i &lt; 3, j &lt; 6: six slots of each of a
    /// window's three kernel rows in 18 registers. The dw product walks a channel's non-zeros with acc its dw row and src
    /// the padded image; the dx product walks a pixel's with acc its padded dx window and src the weights. Against groups
    /// of 8 slots and single ones, the list is read once per 18 slots and no slot waits on a two-register chain.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Rows3x6(float* acc, int accRow, float* src, int srcRow, int* off, float* val, int q)
    {
        float* acc1 = acc + accRow, acc2 = acc1 + accRow;
        Vector512<float> a00 = Vector512.Load(acc), a01 = Vector512.Load(acc + 16), a02 = Vector512.Load(acc + 32),
            a03 = Vector512.Load(acc + 48), a04 = Vector512.Load(acc + 64), a05 = Vector512.Load(acc + 80);
        Vector512<float> a10 = Vector512.Load(acc1), a11 = Vector512.Load(acc1 + 16), a12 = Vector512.Load(acc1 + 32),
            a13 = Vector512.Load(acc1 + 48), a14 = Vector512.Load(acc1 + 64), a15 = Vector512.Load(acc1 + 80);
        Vector512<float> a20 = Vector512.Load(acc2), a21 = Vector512.Load(acc2 + 16), a22 = Vector512.Load(acc2 + 32),
            a23 = Vector512.Load(acc2 + 48), a24 = Vector512.Load(acc2 + 64), a25 = Vector512.Load(acc2 + 80);
        for (int e = 0; e < q; e++)
        {
            float* r = src + off[e], r1 = r + srcRow, r2 = r1 + srcRow;
            var v = Vector512.Create(val[e]);
            a00 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r), a00); a01 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 16), a01);
            a02 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 32), a02); a03 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 48), a03);
            a04 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 64), a04); a05 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 80), a05);
            a10 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r1), a10); a11 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r1 + 16), a11);
            a12 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r1 + 32), a12); a13 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r1 + 48), a13);
            a14 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r1 + 64), a14); a15 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r1 + 80), a15);
            a20 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r2), a20); a21 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r2 + 16), a21);
            a22 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r2 + 32), a22); a23 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r2 + 48), a23);
            a24 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r2 + 64), a24); a25 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r2 + 80), a25);
        }
        a00.Store(acc); a01.Store(acc + 16); a02.Store(acc + 32);
        a03.Store(acc + 48); a04.Store(acc + 64); a05.Store(acc + 80);
        a10.Store(acc1); a11.Store(acc1 + 16); a12.Store(acc1 + 32);
        a13.Store(acc1 + 48); a14.Store(acc1 + 64); a15.Store(acc1 + 80);
        a20.Store(acc2); a21.Store(acc2 + 16); a22.Store(acc2 + 32);
        a23.Store(acc2 + 48); a24.Store(acc2 + 64); a25.Store(acc2 + 80);
    }

    /// <summary>acc[16i, 16i + 16) += Σ_e val[e]·src[off[e] + slot[i], + 16) for i &lt; 8 (acc contiguous, sources at slot offsets).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GatherSlots8(float* acc, float* src, int* off, float* val, int q, int* slot)
    {
        int s0 = slot[0], s1 = slot[1], s2 = slot[2], s3 = slot[3], s4 = slot[4], s5 = slot[5], s6 = slot[6], s7 = slot[7];
        Vector512<float> a0 = Vector512.Load(acc), a1 = Vector512.Load(acc + 16), a2 = Vector512.Load(acc + 32), a3 = Vector512.Load(acc + 48),
            a4 = Vector512.Load(acc + 64), a5 = Vector512.Load(acc + 80), a6 = Vector512.Load(acc + 96), a7 = Vector512.Load(acc + 112);
        for (int e = 0; e < q; e++)
        {
            float* r = src + off[e];
            var v = Vector512.Create(val[e]);
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s0), a0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s1), a1);
            a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s2), a2);
            a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s3), a3);
            a4 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s4), a4);
            a5 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s5), a5);
            a6 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s6), a6);
            a7 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + s7), a7);
        }
        a0.Store(acc); a1.Store(acc + 16); a2.Store(acc + 32); a3.Store(acc + 48);
        a4.Store(acc + 64); a5.Store(acc + 80); a6.Store(acc + 96); a7.Store(acc + 112);
    }

    /// <summary>One slot of <see cref="GatherSlots8"/>, with two accumulators for the odd and even entries (half the dependency chain).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GatherSlots1(float* acc, float* src, int* off, float* val, int q, int s0)
    {
        Vector512<float> a0 = Vector512.Load(acc), a1 = Vector512<float>.Zero;
        int e = 0;
        for (; e + 2 <= q; e += 2)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(val[e]), Vector512.Load(src + off[e] + s0), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(val[e + 1]), Vector512.Load(src + off[e + 1] + s0), a1);
        }
        if (e < q) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(val[e]), Vector512.Load(src + off[e] + s0), a0);
        (a0 + a1).Store(acc);
    }

    /// <summary>dst[slot[i], + 16) += Σ_e val[e]·w[off[e] + 16i, + 16) for i &lt; 8 (sources contiguous, destinations at slot offsets).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ScatterSlots8(float* dst, int* slot, float* w, int* off, float* val, int q)
    {
        int s0 = slot[0], s1 = slot[1], s2 = slot[2], s3 = slot[3], s4 = slot[4], s5 = slot[5], s6 = slot[6], s7 = slot[7];
        Vector512<float> a0 = Vector512.Load(dst + s0), a1 = Vector512.Load(dst + s1), a2 = Vector512.Load(dst + s2), a3 = Vector512.Load(dst + s3),
            a4 = Vector512.Load(dst + s4), a5 = Vector512.Load(dst + s5), a6 = Vector512.Load(dst + s6), a7 = Vector512.Load(dst + s7);
        for (int e = 0; e < q; e++)
        {
            float* r = w + off[e];
            var v = Vector512.Create(val[e]);
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r), a0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 48), a3);
            a4 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 64), a4);
            a5 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 80), a5);
            a6 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 96), a6);
            a7 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 112), a7);
        }
        a0.Store(dst + s0); a1.Store(dst + s1); a2.Store(dst + s2); a3.Store(dst + s3);
        a4.Store(dst + s4); a5.Store(dst + s5); a6.Store(dst + s6); a7.Store(dst + s7);
    }

    /// <summary>One slot of <see cref="ScatterSlots8"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ScatterSlots1(float* dst, float* w, int* off, float* val, int q)
    {
        Vector512<float> a0 = Vector512.Load(dst), a1 = Vector512<float>.Zero;
        int e = 0;
        for (; e + 2 <= q; e += 2)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(val[e]), Vector512.Load(w + off[e]), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(val[e + 1]), Vector512.Load(w + off[e + 1]), a1);
        }
        if (e < q) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(val[e]), Vector512.Load(w + off[e]), a0);
        (a0 + a1).Store(dst);
    }

    // 256-bit forms of the slot kernels, for CPUs without AVX-512 (where Vector512 is emulated in memory): a slot is two
    // registers, so 4 slots fill 8 accumulators and leave the other 8 registers for the broadcast and the loads.

    /// <summary><see cref="GatherSlots8"/> for 4 slots in 256-bit registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GatherSlots4Avx2(float* acc, float* src, int* off, float* val, int q, int* slot)
    {
        int s0 = slot[0], s1 = slot[1], s2 = slot[2], s3 = slot[3];
        Vector256<float> a0 = Vector256.Load(acc), a1 = Vector256.Load(acc + 8), a2 = Vector256.Load(acc + 16), a3 = Vector256.Load(acc + 24),
            a4 = Vector256.Load(acc + 32), a5 = Vector256.Load(acc + 40), a6 = Vector256.Load(acc + 48), a7 = Vector256.Load(acc + 56);
        for (int e = 0; e < q; e++)
        {
            float* r = src + off[e];
            var v = Vector256.Create(val[e]);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s0), a0); a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s0 + 8), a1);
            a2 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s1), a2); a3 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s1 + 8), a3);
            a4 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s2), a4); a5 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s2 + 8), a5);
            a6 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s3), a6); a7 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + s3 + 8), a7);
        }
        a0.Store(acc); a1.Store(acc + 8); a2.Store(acc + 16); a3.Store(acc + 24);
        a4.Store(acc + 32); a5.Store(acc + 40); a6.Store(acc + 48); a7.Store(acc + 56);
    }

    /// <summary><see cref="GatherSlots1"/> in 256-bit registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GatherSlots1Avx2(float* acc, float* src, int* off, float* val, int q, int s0)
    {
        Vector256<float> a0 = Vector256.Load(acc), a1 = Vector256.Load(acc + 8), b0 = Vector256<float>.Zero, b1 = b0;
        int e = 0;
        for (; e + 2 <= q; e += 2)
        {
            float* r = src + off[e] + s0, t = src + off[e + 1] + s0;
            var v = Vector256.Create(val[e]); var u = Vector256.Create(val[e + 1]);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r), a0); a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 8), a1);
            b0 = Vector256.FusedMultiplyAdd(u, Vector256.Load(t), b0); b1 = Vector256.FusedMultiplyAdd(u, Vector256.Load(t + 8), b1);
        }
        if (e < q)
        {
            float* r = src + off[e] + s0;
            var v = Vector256.Create(val[e]);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r), a0); a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 8), a1);
        }
        (a0 + b0).Store(acc); (a1 + b1).Store(acc + 8);
    }

    /// <summary><see cref="ScatterSlots8"/> for 4 slots in 256-bit registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ScatterSlots4Avx2(float* dst, int* slot, float* w, int* off, float* val, int q)
    {
        int s0 = slot[0], s1 = slot[1], s2 = slot[2], s3 = slot[3];
        Vector256<float> a0 = Vector256.Load(dst + s0), a1 = Vector256.Load(dst + s0 + 8), a2 = Vector256.Load(dst + s1), a3 = Vector256.Load(dst + s1 + 8),
            a4 = Vector256.Load(dst + s2), a5 = Vector256.Load(dst + s2 + 8), a6 = Vector256.Load(dst + s3), a7 = Vector256.Load(dst + s3 + 8);
        for (int e = 0; e < q; e++)
        {
            float* r = w + off[e];
            var v = Vector256.Create(val[e]);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r), a0); a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 8), a1);
            a2 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 16), a2); a3 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 24), a3);
            a4 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 32), a4); a5 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 40), a5);
            a6 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 48), a6); a7 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 56), a7);
        }
        a0.Store(dst + s0); a1.Store(dst + s0 + 8); a2.Store(dst + s1); a3.Store(dst + s1 + 8);
        a4.Store(dst + s2); a5.Store(dst + s2 + 8); a6.Store(dst + s3); a7.Store(dst + s3 + 8);
    }

    /// <summary><see cref="ScatterSlots1"/> in 256-bit registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ScatterSlots1Avx2(float* dst, float* w, int* off, float* val, int q)
    {
        Vector256<float> a0 = Vector256.Load(dst), a1 = Vector256.Load(dst + 8), b0 = Vector256<float>.Zero, b1 = b0;
        int e = 0;
        for (; e + 2 <= q; e += 2)
        {
            float* r = w + off[e], t = w + off[e + 1];
            var v = Vector256.Create(val[e]); var u = Vector256.Create(val[e + 1]);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r), a0); a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 8), a1);
            b0 = Vector256.FusedMultiplyAdd(u, Vector256.Load(t), b0); b1 = Vector256.FusedMultiplyAdd(u, Vector256.Load(t + 8), b1);
        }
        if (e < q)
        {
            float* r = w + off[e];
            var v = Vector256.Create(val[e]);
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r), a0); a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 8), a1);
        }
        (a0 + b0).Store(dst); (a1 + b1).Store(dst + 8);
    }

    /// <summary>For a non-zero v at output pixel p of channel co: every tap t adds v·W[t] to the padded dx row and v·(padded x row) to Dw[t].</summary>
    unsafe struct TapScatter : INonZeroVisitor
    {
        public int Taps, C;
        public int* Pixel, Tap;
        public float* XPad, DxPad, W, Dw;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Visit(int p, float v)
        {
            int corner = Pixel[p];
            if (DxPad != null && Dw != null)
                for (int t = 0; t < Taps; t++)
                {
                    int off = corner + Tap[t];
                    Axpy2(DxPad + off, W + t * C, Dw + t * C, XPad + off, v, C);
                }
            else if (DxPad != null)
                for (int t = 0; t < Taps; t++) Axpy(DxPad + corner + Tap[t], W + t * C, v, C);
            else
                for (int t = 0; t < Taps; t++) Axpy(Dw + t * C, XPad + corner + Tap[t], v, C);
        }
    }

    /// <summary>y[0, n) += a·x[0, n)</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Axpy(float* y, float* x, float a, int n)
    {
        int j = 0;
        var va = Vector512.Create(a);
        for (; j <= n - 16; j += 16) Vector512.FusedMultiplyAdd(va, Vector512.Load(x + j), Vector512.Load(y + j)).Store(y + j);
        for (; j < n; j++) y[j] += a * x[j];
    }

    /// <summary>y1 += a·x1 and y2 += a·x2 over [0, n): the dx and dw updates of one tap in one loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Axpy2(float* y1, float* x1, float* y2, float* x2, float a, int n)
    {
        int j = 0;
        var va = Vector512.Create(a);
        for (; j <= n - 16; j += 16)
        {
            Vector512.FusedMultiplyAdd(va, Vector512.Load(x1 + j), Vector512.Load(y1 + j)).Store(y1 + j);
            Vector512.FusedMultiplyAdd(va, Vector512.Load(x2 + j), Vector512.Load(y2 + j)).Store(y2 + j);
        }
        for (; j < n; j++) { y1[j] += a * x1[j]; y2[j] += a * x2[j]; }
    }

    /// <summary>The interior of the zero-padded channels-last image: xp[((ih + padH)·(W + 2·padW) + iw + padW)·C + ci] = x[ci, ih, iw].
    /// With AVX-512, whole blocks of 16 pixels go through <see cref="TransposedBlocks"/> (half the time of the gathers on
    /// the cnn's layers); the rest, and every pixel without AVX-512, goes pixel by pixel, 8 channels per AVX2 gather
    /// (stride H·W).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ToPaddedChannelsLast(float* x, int c, int h, int w, int padH, int padW, float* xp)
    {
        int wp = w + 2 * padW;
        if (c == 1)
        {
            for (int ih = 0; ih < h; ih++) new Span<float>(x + (long)ih * w, w).CopyTo(new Span<float>(xp + (long)(ih + padH) * wp + padW, w));
            return;
        }
        PrefetchInOrder(x, (long)c * h * w);
        int hw = h * w, tiled = TransposedBlocks(x, c, h, w, padH, padW, xp, toPadded: true);
        int c8 = Avx2.IsSupported ? c & ~7 : 0;
        var stride = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * hw;
        for (int f = tiled; f < hw; f++)
        {
            float* dst = xp + ((long)(f / w + padH) * wp + f % w + padW) * c, src = x + f;
            int ci = 0;
            for (; ci < c8; ci += 8) Avx2.GatherVector256(src + (long)ci * hw, stride, 4).Store(dst + ci);
            for (; ci < c; ci++) dst[ci] = src[(long)ci * hw];
        }
    }

    /// <summary>The adjoint read: x[ci, ih, iw] = xp[((ih + padH)·(W + 2·padW) + iw + padW)·C + ci]; the padding border is
    /// dropped. Blocked as <see cref="ToPaddedChannelsLast"/>; the rest with AVX2 gathers of 8 pixels of a channel row (stride C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void FromPaddedChannelsLast(float* xp, int c, int h, int w, int padH, int padW, float* x)
    {
        PrefetchInOrder(x, (long)c * h * w);
        int wp = w + 2 * padW, hw = h * w, tiled = TransposedBlocks(x, c, h, w, padH, padW, xp, toPadded: false);
        // Pixels from `tiled` on: channel rows from the first untiled pixel, 8 pixels per gather while they lie in one row.
        int w8 = Avx2.IsSupported ? 8 : int.MaxValue;
        var stride = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) * c;
        for (int ci = 0; ci < c; ci++)
            for (int f = tiled; f < hw;)
            {
                int iw = f % w;
                float* src = xp + ((long)(f / w + padH) * wp + iw + padW) * c + ci, dst = x + (long)ci * hw + f;
                if (w - iw >= w8) { Avx2.GatherVector256(src, stride, 4).Store(dst); f += 8; }
                else { *dst = *src; f++; }
            }
    }

    /// <summary>
    /// Asks for the <paramref name="count"/> floats at <paramref name="p"/> in address order, a prefetch per cache line.
    /// The blocked transposes read or write the NCHW image 16 rows at a time, H·W floats apart, a pattern the hardware
    /// prefetchers follow poorly; one sequential sweep first brings the image in at streaming speed. With it the whole
    /// sparse backward of the cnn's 3×3 layers ran 4–15% faster in 8 of 9 interleaved comparisons (docs/RESULTS.md).
    /// </summary>
    static unsafe void PrefetchInOrder(float* p, long count)
    {
        if (!Sse.IsSupported) return;
        for (long i = 0; i < count; i += 16) Sse.Prefetch0(p + i);
    }

    /// <summary>Pixels [0, 16·⌊H·W/16⌋) of x [C, H, W] to the padded channels-last xp (<paramref name="toPadded"/>) or back,
    /// 16 channels × 16 pixels per <see cref="Transpose16"/> and the channels past the last 16 one by one; returns the
    /// pixels done (0 without AVX-512 or below 16 channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe int TransposedBlocks(float* x, int c, int h, int w, int padH, int padW, float* xp, bool toPadded)
    {
        int wp = w + 2 * padW, hw = h * w, tiled = Vector512.IsHardwareAccelerated && c >= 16 ? hw & ~15 : 0;
        if (tiled == 0) return 0;
        long* at = stackalloc long[16], rows = stackalloc long[16];
        for (int k = 0; k < 16; k++) rows[k] = (long)k * hw;
        for (int f = 0; f < tiled; f += 16)
        {
            PaddedOffsets(f, w, wp, padH, padW, c, at);
            int ci = 0;
            for (; ci + 16 <= c; ci += 16)
                if (toPadded) Transpose16(x + (long)ci * hw + f, rows, xp + ci, at);
                else Transpose16(xp + ci, at, x + (long)ci * hw + f, rows);
            for (int k = 0; k < 16; k++)
                for (int cj = ci; cj < c; cj++)
                    if (toPadded) xp[at[k] + cj] = x[(long)cj * hw + f + k];
                    else x[(long)cj * hw + f + k] = xp[at[k] + cj];
        }
        return tiled;
    }

    /// <summary>at[k] = offset of pixel f + k (flat index in the H×W image) in the padded channels-last image.</summary>
    static unsafe void PaddedOffsets(int f, int w, int wp, int padH, int padW, int c, long* at)
    {
        int ih = f / w, iw = f % w;
        for (int k = 0; k < 16; k++)
        {
            at[k] = ((long)(ih + padH) * wp + iw + padW) * c;
            if (++iw == w) { iw = 0; ih++; }
        }
    }

    /// <summary>
    /// dst + dstAt[i] + j ← src + srcAt[j] + i for i, j &lt; 16: a 16×16 transpose of rows gathered from 16 addresses to 16
    /// others. Unpacks of float pairs, then of double pairs, leave each 128-bit block L of row 4m + j holding column 4L + j
    /// of rows 4m..4m+3; two rounds of 128-bit shuffles then transpose those blocks. 64 shuffles per 256 floats, all in
    /// registers, where an AVX2 gather moves about one float per cycle.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Transpose16(float* src, long* srcAt, float* dst, long* dstAt)
    {
        Vector512<float> a0 = Vector512.Load(src + srcAt[0]), a1 = Vector512.Load(src + srcAt[1]), a2 = Vector512.Load(src + srcAt[2]),
            a3 = Vector512.Load(src + srcAt[3]), a4 = Vector512.Load(src + srcAt[4]), a5 = Vector512.Load(src + srcAt[5]),
            a6 = Vector512.Load(src + srcAt[6]), a7 = Vector512.Load(src + srcAt[7]), a8 = Vector512.Load(src + srcAt[8]),
            a9 = Vector512.Load(src + srcAt[9]), a10 = Vector512.Load(src + srcAt[10]), a11 = Vector512.Load(src + srcAt[11]),
            a12 = Vector512.Load(src + srcAt[12]), a13 = Vector512.Load(src + srcAt[13]), a14 = Vector512.Load(src + srcAt[14]),
            a15 = Vector512.Load(src + srcAt[15]);
        PairRows(ref a0, ref a1); PairRows(ref a2, ref a3); PairRows(ref a4, ref a5); PairRows(ref a6, ref a7);
        PairRows(ref a8, ref a9); PairRows(ref a10, ref a11); PairRows(ref a12, ref a13); PairRows(ref a14, ref a15);
        QuadRows(ref a0, ref a1, ref a2, ref a3); QuadRows(ref a4, ref a5, ref a6, ref a7);
        QuadRows(ref a8, ref a9, ref a10, ref a11); QuadRows(ref a12, ref a13, ref a14, ref a15);
        Blocks(a0, a4, a8, a12, dst, dstAt[0], dstAt[4], dstAt[8], dstAt[12]);
        Blocks(a1, a5, a9, a13, dst, dstAt[1], dstAt[5], dstAt[9], dstAt[13]);
        Blocks(a2, a6, a10, a14, dst, dstAt[2], dstAt[6], dstAt[10], dstAt[14]);
        Blocks(a3, a7, a11, a15, dst, dstAt[3], dstAt[7], dstAt[11], dstAt[15]);
    }

    /// <summary>(x, y) → (unpacklo, unpackhi) of their float pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PairRows(ref Vector512<float> x, ref Vector512<float> y)
    {
        var lo = Avx512F.UnpackLow(x, y);
        y = Avx512F.UnpackHigh(x, y);
        x = lo;
    }

    /// <summary>Rows 4m..4m+3 after <see cref="PairRows"/> → row 4m + j holds column 4L + j of the four in block L.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void QuadRows(ref Vector512<float> r0, ref Vector512<float> r1, ref Vector512<float> r2, ref Vector512<float> r3)
    {
        Vector512<double> t0 = r0.AsDouble(), t1 = r1.AsDouble(), t2 = r2.AsDouble(), t3 = r3.AsDouble();
        r0 = Avx512F.UnpackLow(t0, t2).AsSingle();
        r1 = Avx512F.UnpackHigh(t0, t2).AsSingle();
        r2 = Avx512F.UnpackLow(t1, t3).AsSingle();
        r3 = Avx512F.UnpackHigh(t1, t3).AsSingle();
    }

    /// <summary>Stores the 4×4 transpose of 128-bit blocks: dst + at_L ← (v0[L], v1[L], v2[L], v3[L]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Blocks(Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3, float* dst,
                              long at0, long at1, long at2, long at3)
    {
        var p = Avx512F.Shuffle4x128(v0, v1, 0x44);   // v0[0] v0[1] v1[0] v1[1]
        var q = Avx512F.Shuffle4x128(v0, v1, 0xEE);   // v0[2] v0[3] v1[2] v1[3]
        var r = Avx512F.Shuffle4x128(v2, v3, 0x44);
        var s = Avx512F.Shuffle4x128(v2, v3, 0xEE);
        Avx512F.Shuffle4x128(p, r, 0x88).Store(dst + at0);   // v0[0] v1[0] v2[0] v3[0]
        Avx512F.Shuffle4x128(p, r, 0xDD).Store(dst + at1);
        Avx512F.Shuffle4x128(q, s, 0x88).Store(dst + at2);
        Avx512F.Shuffle4x128(q, s, 0xDD).Store(dst + at3);
    }
}
