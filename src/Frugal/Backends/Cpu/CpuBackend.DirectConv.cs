using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Direct stride-1 convolution with AVX-512 register tiles (AVX2 + FMA ones in <c>CpuBackend.DirectConvAvx2.cs</c>),
/// without im2col. The input plane is zero-padded once into a
/// scratch [C, Hp·Wp] (Hp = H + 2·PadH, Wp = W + 2·PadW) and outputs are computed at the padded pitch: output position
/// q = oh·Wp + ow reads input q + ki·Wp + kj for every tap, so each tap is one shifted contiguous vector load and
///   y[co, q] = b[co] + Σ_ci Σ_(ki,kj) W[co, ci, ki, kj] · xp[ci, q + ki·Wp + kj],
/// with the Wp − OutW positions at the end of each row computed and dropped. im2col instead writes kh·kw copies of
/// the input and a GEMM reads them back: on 2 cores its 32-row GEMMs ran at ~50 GFLOP/s and the copies cost as much.
/// The input gradient is the same kernel on dY padded by (k − 1 − pad) with the kernel flipped and transposed,
///   dX[ci, ih, iw] = Σ_co Σ_(ki,kj) W[co, ci, kh−1−ki, kw−1−kj] · dYp[co, ih + ki, iw + kj],
/// and the weight gradient a register tile of dot products over the padded pitch (dY zero in the dropped columns),
///   dW[co, ci, ki, kj] = Σ_n Σ_q dY[n, co, q] · xp[n, ci, q + ki·Wp + kj].
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>Output channels per register tile.</summary>
    const int ConvCoTile = 4;
    /// <summary>Vectors of 16 output positions per register tile (4 × 4 accumulators).</summary>
    const int ConvQTile = 4;
    /// <summary>Taps per weight-gradient register tile (3 taps × 8, or 4, output channels of accumulators).</summary>
    const int ConvTapTile = 3;
    /// <summary>Input channels × taps below which the weight gradient stays on im2col + GEMM.</summary>
    internal const int MinDirectWeightGradientK = 32;

    /// <summary>Whether <see cref="TryConv2dDirect"/> and its gradients run for an ungrouped convolution over this window:
    /// stride 1, no dilation, padding below the kernel (the flipped kernel's padding k − 1 − pad is then non-negative),
    /// not 1×1 (already a plain GEMM without im2col), and AVX-512 or AVX2 + FMA.</summary>
    public static bool DirectConvApplies(Window2d w) =>
        (Avx512F.IsSupported || Avx2.IsSupported && Fma.IsSupported) && DirectConvEnabled
        && w.StrideH == 1 && w.StrideW == 1 && w.DilationH == 1 && w.DilationW == 1
        && w.PadH < w.KernelH && w.PadW < w.KernelW && w.OutH > 0 && w.OutW > 0 && !w.IsPointwise;

    /// <summary>Tests switch the direct kernels off, on their own thread only, to compare them with im2col + GEMM.</summary>
    internal static bool DirectConvEnabled { get => !_directConvDisabled; set => _directConvDisabled = !value; }
    [ThreadStatic] static bool _directConvDisabled;

    /// <summary>The padded-pitch geometry of one image of a direct convolution.</summary>
    readonly struct DirectGeometry
    {
        public readonly int C, Cout, H, W, KH, KW, PadH, PadW, Hp, Wp, OutH, OutW;
        /// <summary>Floats per padded input plane: Hp·Wp plus one vector of slack for the last tile's loads.</summary>
        public readonly int PlaneStride;
        /// <summary>Output positions per channel at the padded pitch, in whole vectors (16 floats each).</summary>
        public readonly int QVectors;
        public int QStride => QVectors * 16;
        public int Taps => KH * KW;
        public int CoTiles => (Cout + ConvCoTile - 1) / ConvCoTile;

        public DirectGeometry(int c, int cout, Window2d w)
        {
            C = c; Cout = cout; H = w.Height; W = w.Width; KH = w.KernelH; KW = w.KernelW; PadH = w.PadH; PadW = w.PadW;
            Hp = H + 2 * PadH; Wp = W + 2 * PadW; OutH = w.OutH; OutW = w.OutW;
            int q = (OutH - 1) * Wp + OutW;
            QVectors = (q + 15) / 16;
            // Loads reach at most q + 15 + (KH − 1)·Wp + KW − 1 < Hp·Wp + 15 (see the class comment).
            PlaneStride = (Hp * Wp + 16 + 15) & ~15;
        }

        /// <summary>Offset of tap (ki, kj) from an output position at the padded pitch.</summary>
        public int TapOffset(int t) => t / KW * Wp + t % KW;
    }

    /// <summary>y = conv2d(x, w) + b for x [N, C, H, W], w [Cout, C, kh, kw], y [N, Cout, OutH, OutW]; false when
    /// <see cref="DirectConvApplies"/> does not hold (the caller then takes im2col + GEMM). With <paramref name="inputs"/>
    /// the padding copy reads only those channels and the packed kernel holds only theirs, scaled: the sampled product
    /// costs k/C of the exact one with no gathered copies.</summary>
    public bool TryConv2dDirect(Tensor x, Tensor w, Tensor? b, Window2d win, Tensor y, ChannelSubset? inputs = null)
    {
        int c = x.Shape[1], cout = w.Shape[0];
        if (!DirectConvApplies(win) || w.Shape[1] != c) return false;   // grouped: one GEMM per group instead
        inputs?.Check("conv2d", c);
        var map = new ChannelMap(inputs, c);
        var g = new DirectGeometry(map.Count, cout, win);
        var packed = PackWeights(Data(w), w.Offset, cout, c, g.Taps, flip: false, map);
        float[]? bias = b == null ? null : Data(b);
        DirectForward(Data(x), x.Offset, x.Shape[0], g, map, packed, bias, b?.Offset ?? 0, Data(y), y.Offset, new ChannelMap(null, cout));
        return true;
    }

    /// <summary>dX [N, C, H, W] of a direct convolution from dY [N, Cout, OutH, OutW]: the forward kernel on dY padded by
    /// k − 1 − pad, with w transposed and flipped. With <paramref name="inputs"/> it computes the subset's channels and
    /// zeroes the rest.</summary>
    public bool TryConv2dBackwardDataDirect(Tensor gy, Tensor w, Window2d win, Tensor gx, ChannelSubset? inputs = null)
    {
        int c = gx.Shape[1], cout = w.Shape[0];
        if (!DirectConvApplies(win) || w.Shape[1] != c) return false;
        inputs?.Check("conv2d backward", c);
        var full = new Window2d(win.OutH, win.OutW, win.KernelH, win.KernelW,
            PadH: win.KernelH - 1 - win.PadH, PadW: win.KernelW - 1 - win.PadW);
        var map = new ChannelMap(inputs, c);
        var g = new DirectGeometry(cout, map.Count, full);
        var packed = PackWeights(Data(w), w.Offset, cout, c, g.Taps, flip: true, map);
        DirectForward(Data(gy), gy.Offset, gy.Shape[0], g, new ChannelMap(null, cout), packed, null, 0, Data(gx), gx.Offset, map);
        return true;
    }

    /// <summary>Overwrites dW [Cout, C, kh, kw] with Σ_n of the direct correlation of x and dY (with
    /// <paramref name="inputs"/>: the subset's channels, scaled, and zero elsewhere).</summary>
    public bool TryConv2dBackwardWeightDirect(Tensor gy, Tensor x, Window2d win, Tensor gw, ChannelSubset? inputs = null)
    {
        int n = x.Shape[0], c = x.Shape[1], cout = gw.Shape[0];
        // A thin input (the 1-channel stem) makes dW a few FLOPs per dY value: then the pitch copy of dY costs more than
        // im2col's few columns and one GEMM pass over dY (measured 1.7 vs 1.2 ms at 1→32, 28×28, batch 128). A subset
        // always takes the kernel: im2col has no subset form.
        if (!DirectConvApplies(win) || gw.Shape[1] != c || inputs == null && c * win.Taps < MinDirectWeightGradientK) return false;
        inputs?.Check("conv2d backward", c);
        var map = new ChannelMap(inputs, c);
        var g = new DirectGeometry(map.Count, cout, win);
        DirectWeightGradient(Data(x), x.Offset, Data(gy), gy.Offset, n, g, map, Data(gw), gw.Offset);
        return true;
    }

    /// <summary>Channel j of a direct convolution's operand is channel this[j] of a tensor with <see cref="Full"/>
    /// channels, with the factor Scale(j): the identity, or a <see cref="ChannelSubset"/>.</summary>
    readonly struct ChannelMap(ChannelSubset? subset, int full)
    {
        public readonly int Full = full;
        readonly int[]? _indices = subset?.Indices;
        readonly float[]? _scales = subset?.Scales;
        public int Count => _indices?.Length ?? Full;
        public bool IsIdentity => _indices == null;
        public int this[int j] => _indices == null ? j : _indices[j];
        public float Scale(int j) => _scales == null ? 1f : _scales[j];

        /// <summary>Zeroes the planes of one image [Full, plane] at <paramref name="at"/> whose channels are not mapped.</summary>
        public void ClearUnmapped(float[] d, int at, int plane)
        {
            if (_indices == null) return;
            for (int ch = 0, j = 0; ch < Full; ch++)
                if (j < _indices.Length && _indices[j] == ch) j++;
                else d.AsSpan(at + ch * plane, plane).Clear();
        }
    }

    /// <summary>
    /// Weights as [co tile][ci][tap][4]: the 4 output channels a register tile broadcasts are adjacent, and a tile walks
    /// its weights in order. Channels past Cout are zero. With <paramref name="flip"/>, the input gradient's kernel:
    /// roles of C and Cout swapped, taps reversed (W'[ci, co, t] = W[co, ci, taps − 1 − t]).
    /// </summary>
    static float[] PackWeights(float[] wd, int wo, int cout, int c, int taps, bool flip, in ChannelMap map)
    {
        // map restricts w's input-channel axis (of c channels): the packed kernel's inputs, or its outputs when flipped.
        int outCh = flip ? map.Count : cout, inCh = flip ? cout : map.Count;
        int tiles = (outCh + ConvCoTile - 1) / ConvCoTile;
        var p = new float[tiles * inCh * taps * ConvCoTile];
        for (int o = 0; o < outCh; o++)
            for (int i = 0; i < inCh; i++)
                for (int t = 0; t < taps; t++)
                {
                    float v = flip ? wd[wo + (i * c + map[o]) * taps + taps - 1 - t] * map.Scale(o)
                                   : wd[wo + (o * c + map[i]) * taps + t] * map.Scale(i);
                    p[((o / ConvCoTile * inCh + i) * taps + t) * ConvCoTile + o % ConvCoTile] = v;
                }
        return p;
    }

    [ThreadStatic] static float[]? _directInput, _directOutput;

    /// <summary>Copies image planes [C, H, W] (channel map[ci] of the image at <paramref name="so"/>) into the zero-padded
    /// scratch [C, PlaneStride]: each row lands between its zero borders, and only the borders, the padding rows and the
    /// slack are written besides.</summary>
    static void PadImage(float[] src, int so, in DirectGeometry g, float[] xp, int xpo, in ChannelMap map)
    {
        int top = g.PadH * g.Wp, bottom = (g.PadH + g.H) * g.Wp;
        for (int ci = 0; ci < g.C; ci++)
        {
            var plane = xp.AsSpan(xpo + ci * g.PlaneStride, g.PlaneStride);
            plane[..(top + g.PadW)].Clear();
            var rows = src.AsSpan(so + map[ci] * g.H * g.W, g.H * g.W);
            for (int h = 0; h < g.H; h++)
            {
                int at = top + h * g.Wp + g.PadW;
                CopyRow(rows.Slice(h * g.W, g.W), plane[at..]);
                // This row's right border and the next row's left border are adjacent (a few floats: no Clear call).
                for (int k = at + g.W, end = k + 2 * g.PadW; k < end; k++) plane[k] = 0;
            }
            plane[(bottom + g.PadW)..].Clear();
        }
    }

    /// <summary>y[img, outMap[co]] for every image: input channel ci is xd's channel inMap[ci]; y's unmapped channels are
    /// zeroed.</summary>
    static void DirectForward(float[] xd, int xo, int n, DirectGeometry g, ChannelMap inMap, float[] packed, float[]? bias, int bo,
                              float[] yd, int yo, ChannelMap outMap)
    {
        int inPer = inMap.Full * g.H * g.W, plane = g.OutH * g.OutW, outPer = outMap.Full * plane;
        long work = (long)g.Cout * g.C * g.Taps * g.OutH * g.OutW;
        Threading.For(n, (s, e) =>
        {
            var xp = ThreadScratch(ref _directInput, g.C * g.PlaneStride);
            var yq = ThreadScratch(ref _directOutput, g.CoTiles * ConvCoTile * g.QStride);
            for (int img = s; img < e; img++)
            {
                PadImage(xd, xo + img * inPer, g, xp, 0, inMap);
                ForwardTiles(xp, g, packed, bias, bo, yq);
                // Drop the Wp − OutW wrapped positions of each row.
                for (int co = 0; co < g.Cout; co++)
                    for (int oh = 0; oh < g.OutH; oh++)
                        CopyRow(yq.AsSpan(co * g.QStride + oh * g.Wp, g.OutW), yd.AsSpan(yo + img * outPer + outMap[co] * plane + oh * g.OutW));
                outMap.ClearUnmapped(yd, yo + img * outPer, plane);
            }
        }, Threading.Grain(work));
    }

    /// <summary>All register tiles of one padded image: yq [Cout rounded to tiles, QStride]. With AVX-512, pairs of
    /// adjacent 4-channel tiles run as one <see cref="Tile8x3"/>, the rest (an odd last tile, the positions past the
    /// last whole 3 vectors) as <see cref="Tile4x4"/> and <see cref="Tile4x1"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ForwardTiles(float[] xpArr, in DirectGeometry g, float[] packedArr, float[]? biasArr, int bo, float[] yqArr)
    {
        int taps = g.Taps, cin = g.C, ps = g.PlaneStride, qs = g.QStride, tileWeights = cin * taps * ConvCoTile;
        int* offs = stackalloc int[taps];
        for (int t = 0; t < taps; t++) offs[t] = g.TapOffset(t);
        // Bias per output channel rounded up to whole tiles (zero past Cout and without a bias).
        float* bias = stackalloc float[g.CoTiles * ConvCoTile];
        for (int co = 0; co < g.CoTiles * ConvCoTile; co++) bias[co] = biasArr != null && co < g.Cout ? biasArr[bo + co] : 0;
        fixed (float* xp = xpArr, wpk = packedArr, yq = yqArr)
        {
            for (int ct = 0; ct < g.CoTiles;)
            {
                float* wt = wpk + ct * tileWeights, y0 = yq + ct * ConvCoTile * qs, b = bias + ct * ConvCoTile;
                int v = 0;
                if (!Avx512F.IsSupported)
                {
                    for (; v < g.QVectors; v++)
                        Tile4x1Avx2(xp + v * 16, ps, cin, offs, taps, wt, y0 + v * 16, qs, b[0], b[1], b[2], b[3]);
                    ct++;
                    continue;
                }
                if (ct + 1 < g.CoTiles)
                {
                    for (; v + 3 <= g.QVectors; v += 3)
                        Tile8x3(xp + v * 16, ps, cin, offs, taps, wt, wt + tileWeights, y0 + v * 16, qs, b);
                    for (; v < g.QVectors; v++)
                    {
                        Tile4x1(xp + v * 16, ps, cin, offs, taps, wt, y0 + v * 16, qs, b[0], b[1], b[2], b[3]);
                        Tile4x1(xp + v * 16, ps, cin, offs, taps, wt + tileWeights, y0 + ConvCoTile * qs + v * 16, qs, b[4], b[5], b[6], b[7]);
                    }
                    ct += 2;
                    continue;
                }
                for (; v + ConvQTile <= g.QVectors; v += ConvQTile)
                    Tile4x4(xp + v * 16, ps, cin, offs, taps, wt, y0 + v * 16, qs, b[0], b[1], b[2], b[3]);
                for (; v < g.QVectors; v++)
                    Tile4x1(xp + v * 16, ps, cin, offs, taps, wt, y0 + v * 16, qs, b[0], b[1], b[2], b[3]);
                ct++;
            }
        }
    }

    /// <summary>
    /// 8 output channels (two packed 4-channel tiles, weights <paramref name="w"/> and <paramref name="w2"/>) × 48
    /// positions: per (ci, tap) three shifted loads, eight broadcast weights and 24 FMAs in 24 accumulators. The shifted
    /// loads straddle cache lines (they cost two line reads each): one per 8 FMAs here, one per 4 in
    /// <see cref="Tile4x4"/>, and the kernel runs ~1.1× faster on the cnn's layers (docs/RESULTS.md). Same sums in the
    /// same order as two 4×4 tiles, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Tile8x3(float* x, int ps, int cin, int* offs, int taps, float* w, float* w2, float* y, int qs, float* b)
    {
        Vector512<float> a00 = Vector512.Create(b[0]), a01 = a00, a02 = a00, a10 = Vector512.Create(b[1]), a11 = a10, a12 = a10;
        Vector512<float> a20 = Vector512.Create(b[2]), a21 = a20, a22 = a20, a30 = Vector512.Create(b[3]), a31 = a30, a32 = a30;
        Vector512<float> a40 = Vector512.Create(b[4]), a41 = a40, a42 = a40, a50 = Vector512.Create(b[5]), a51 = a50, a52 = a50;
        Vector512<float> a60 = Vector512.Create(b[6]), a61 = a60, a62 = a60, a70 = Vector512.Create(b[7]), a71 = a70, a72 = a70;
        for (int ci = 0; ci < cin; ci++, x += ps)
            for (int t = 0; t < taps; t++, w += ConvCoTile, w2 += ConvCoTile)
            {
                float* p = x + offs[t];
                var x0 = Vector512.Load(p); var x1 = Vector512.Load(p + 16); var x2 = Vector512.Load(p + 32);
                var k = Vector512.Create(w[0]);
                a00 = Avx512F.FusedMultiplyAdd(k, x0, a00); a01 = Avx512F.FusedMultiplyAdd(k, x1, a01); a02 = Avx512F.FusedMultiplyAdd(k, x2, a02);
                k = Vector512.Create(w[1]);
                a10 = Avx512F.FusedMultiplyAdd(k, x0, a10); a11 = Avx512F.FusedMultiplyAdd(k, x1, a11); a12 = Avx512F.FusedMultiplyAdd(k, x2, a12);
                k = Vector512.Create(w[2]);
                a20 = Avx512F.FusedMultiplyAdd(k, x0, a20); a21 = Avx512F.FusedMultiplyAdd(k, x1, a21); a22 = Avx512F.FusedMultiplyAdd(k, x2, a22);
                k = Vector512.Create(w[3]);
                a30 = Avx512F.FusedMultiplyAdd(k, x0, a30); a31 = Avx512F.FusedMultiplyAdd(k, x1, a31); a32 = Avx512F.FusedMultiplyAdd(k, x2, a32);
                k = Vector512.Create(w2[0]);
                a40 = Avx512F.FusedMultiplyAdd(k, x0, a40); a41 = Avx512F.FusedMultiplyAdd(k, x1, a41); a42 = Avx512F.FusedMultiplyAdd(k, x2, a42);
                k = Vector512.Create(w2[1]);
                a50 = Avx512F.FusedMultiplyAdd(k, x0, a50); a51 = Avx512F.FusedMultiplyAdd(k, x1, a51); a52 = Avx512F.FusedMultiplyAdd(k, x2, a52);
                k = Vector512.Create(w2[2]);
                a60 = Avx512F.FusedMultiplyAdd(k, x0, a60); a61 = Avx512F.FusedMultiplyAdd(k, x1, a61); a62 = Avx512F.FusedMultiplyAdd(k, x2, a62);
                k = Vector512.Create(w2[3]);
                a70 = Avx512F.FusedMultiplyAdd(k, x0, a70); a71 = Avx512F.FusedMultiplyAdd(k, x1, a71); a72 = Avx512F.FusedMultiplyAdd(k, x2, a72);
            }
        a00.Store(y); a01.Store(y + 16); a02.Store(y + 32); y += qs;
        a10.Store(y); a11.Store(y + 16); a12.Store(y + 32); y += qs;
        a20.Store(y); a21.Store(y + 16); a22.Store(y + 32); y += qs;
        a30.Store(y); a31.Store(y + 16); a32.Store(y + 32); y += qs;
        a40.Store(y); a41.Store(y + 16); a42.Store(y + 32); y += qs;
        a50.Store(y); a51.Store(y + 16); a52.Store(y + 32); y += qs;
        a60.Store(y); a61.Store(y + 16); a62.Store(y + 32); y += qs;
        a70.Store(y); a71.Store(y + 16); a72.Store(y + 32);
    }

    /// <summary>4 output channels × 64 positions: per (ci, tap) four shifted loads, four broadcast weights, 16 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Tile4x4(float* x, int ps, int cin, int* offs, int taps, float* w, float* y, int qs,
        float b0, float b1, float b2, float b3)
    {
        Vector512<float> a00 = Vector512.Create(b0), a01 = a00, a02 = a00, a03 = a00;
        Vector512<float> a10 = Vector512.Create(b1), a11 = a10, a12 = a10, a13 = a10;
        Vector512<float> a20 = Vector512.Create(b2), a21 = a20, a22 = a20, a23 = a20;
        Vector512<float> a30 = Vector512.Create(b3), a31 = a30, a32 = a30, a33 = a30;
        for (int ci = 0; ci < cin; ci++, x += ps)
        {
            for (int t = 0; t < taps; t++, w += ConvCoTile)
            {
                float* p = x + offs[t];
                var x0 = Vector512.Load(p); var x1 = Vector512.Load(p + 16);
                var x2 = Vector512.Load(p + 32); var x3 = Vector512.Load(p + 48);
                var k = Vector512.Create(w[0]);
                a00 = Avx512F.FusedMultiplyAdd(k, x0, a00); a01 = Avx512F.FusedMultiplyAdd(k, x1, a01);
                a02 = Avx512F.FusedMultiplyAdd(k, x2, a02); a03 = Avx512F.FusedMultiplyAdd(k, x3, a03);
                k = Vector512.Create(w[1]);
                a10 = Avx512F.FusedMultiplyAdd(k, x0, a10); a11 = Avx512F.FusedMultiplyAdd(k, x1, a11);
                a12 = Avx512F.FusedMultiplyAdd(k, x2, a12); a13 = Avx512F.FusedMultiplyAdd(k, x3, a13);
                k = Vector512.Create(w[2]);
                a20 = Avx512F.FusedMultiplyAdd(k, x0, a20); a21 = Avx512F.FusedMultiplyAdd(k, x1, a21);
                a22 = Avx512F.FusedMultiplyAdd(k, x2, a22); a23 = Avx512F.FusedMultiplyAdd(k, x3, a23);
                k = Vector512.Create(w[3]);
                a30 = Avx512F.FusedMultiplyAdd(k, x0, a30); a31 = Avx512F.FusedMultiplyAdd(k, x1, a31);
                a32 = Avx512F.FusedMultiplyAdd(k, x2, a32); a33 = Avx512F.FusedMultiplyAdd(k, x3, a33);
            }
        }
        a00.Store(y); a01.Store(y + 16); a02.Store(y + 32); a03.Store(y + 48); y += qs;
        a10.Store(y); a11.Store(y + 16); a12.Store(y + 32); a13.Store(y + 48); y += qs;
        a20.Store(y); a21.Store(y + 16); a22.Store(y + 32); a23.Store(y + 48); y += qs;
        a30.Store(y); a31.Store(y + 16); a32.Store(y + 32); a33.Store(y + 48);
    }

    /// <summary>The last partial tile: 4 output channels × 16 positions.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Tile4x1(float* x, int ps, int cin, int* offs, int taps, float* w, float* y, int qs,
        float b0, float b1, float b2, float b3)
    {
        Vector512<float> a0 = Vector512.Create(b0), a1 = Vector512.Create(b1), a2 = Vector512.Create(b2), a3 = Vector512.Create(b3);
        for (int ci = 0; ci < cin; ci++, x += ps)
            for (int t = 0; t < taps; t++, w += ConvCoTile)
            {
                var x0 = Vector512.Load(x + offs[t]);
                a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(w[0]), x0, a0);
                a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(w[1]), x0, a1);
                a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(w[2]), x0, a2);
                a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(w[3]), x0, a3);
            }
        a0.Store(y); a1.Store(y + qs); a2.Store(y + 2 * qs); a3.Store(y + 3 * qs);
    }

    // ---- weight gradient -------------------------------------------------------------------------

    /// <summary>Images whose padded inputs and gradients a worker keeps in cache while it walks all weight tiles.</summary>
    const int WeightGradientImages = 4;

    static void DirectWeightGradient(float[] xd, int xo, float[] gyd, int gyo, int n, DirectGeometry g, ChannelMap map, float[] gwd, int gwo)
    {
        int taps = g.Taps, coRound = g.CoTiles * ConvCoTile;
        int inPer = map.Full * g.H * g.W, outPer = g.Cout * g.OutH * g.OutW;
        int chunks = (n + WeightGradientImages - 1) / WeightGradientImages;
        int workers = Math.Max(1, Math.Min(Threading.Threads, chunks));
        // Fixed image ranges per worker, summed in worker order: dW does not depend on thread timing (exact resume).
        var partial = new float[workers][];
        Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, wk =>
        {
            var acc = new float[coRound * g.C * taps];
            var xp = ThreadScratch(ref _directInput, WeightGradientImages * g.C * g.PlaneStride);
            var dq = ThreadScratch(ref _directOutput, WeightGradientImages * coRound * g.QStride);
            int c0 = (int)((long)chunks * wk / workers), c1 = (int)((long)chunks * (wk + 1) / workers);
            for (int ch = c0; ch < c1; ch++)
            {
                int i0 = ch * WeightGradientImages, cnt = Math.Min(WeightGradientImages, n - i0);
                for (int i = 0; i < cnt; i++)
                {
                    PadImage(xd, xo + (i0 + i) * inPer, g, xp, i * g.C * g.PlaneStride, map);
                    PitchGradient(gyd, gyo + (i0 + i) * outPer, g, dq, i * coRound * g.QStride);
                }
                WeightTiles(xp, dq, cnt, g, acc);
            }
            partial[wk] = acc;
        });
        // acc is [co, ci, tap] over the rounded channels: sum the workers into partial[0], then each row into dW (a subset:
        // each channel scaled into its place, the unmapped ones zero).
        for (int co = 0; co < g.Cout; co++)
        {
            var sum = partial[0].AsSpan(co * g.C * taps, g.C * taps);
            for (int wk = 1; wk < workers; wk++)
                System.Numerics.Tensors.TensorPrimitives.Add(sum, partial[wk].AsSpan(co * g.C * taps, g.C * taps), sum);
            var row = gwd.AsSpan(gwo + co * map.Full * taps, map.Full * taps);
            if (map.IsIdentity) { sum.CopyTo(row); continue; }
            row.Clear();
            for (int j = 0; j < g.C; j++)
                System.Numerics.Tensors.TensorPrimitives.Multiply(sum.Slice(j * taps, taps), map.Scale(j), row.Slice(map[j] * taps, taps));
        }
    }

    /// <summary>One image's dY [Cout, OutH, OutW] at the padded pitch: dq[co, oh·Wp + ow], zero in the dropped columns,
    /// past the last position and in the tile's padding channels, so they add nothing to dW.</summary>
    static void PitchGradient(float[] gyd, int so, in DirectGeometry g, float[] dq, int dqo)
    {
        int coRound = g.CoTiles * ConvCoTile, gap = g.Wp - g.OutW;
        for (int co = 0; co < g.Cout; co++)
        {
            var row = dq.AsSpan(dqo + co * g.QStride, g.QStride);
            var src = gyd.AsSpan(so + co * g.OutH * g.OutW, g.OutH * g.OutW);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                CopyRow(src.Slice(oh * g.OutW, g.OutW), row[(oh * g.Wp)..]);
                if (oh < g.OutH - 1) for (int k = oh * g.Wp + g.OutW, end = k + gap; k < end; k++) row[k] = 0;
            }
            row[((g.OutH - 1) * g.Wp + g.OutW)..].Clear();
        }
        dq.AsSpan(dqo + g.Cout * g.QStride, (coRound - g.Cout) * g.QStride).Clear();
    }

    /// <summary>acc[co, ci, t] += Σ over <paramref name="count"/> images and all pitch positions of dq[co]·xp[ci, · + offset(t)].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void WeightTiles(float[] xpArr, float[] dqArr, int count, in DirectGeometry g, float[] accArr)
    {
        int taps = g.Taps, cin = g.C, ps = g.PlaneStride, qs = g.QStride, qv = g.QVectors, coRound = g.CoTiles * ConvCoTile;
        int imgX = cin * ps, imgQ = coRound * qs;
        fixed (float* xp = xpArr, dq = dqArr, acc = accArr)
        {
            // AVX-512: pairs of channel tiles take the 8 × 3 register tile, an odd last tile the 4 × 3 one. AVX2's 16
            // registers hold one 4 × 3 tile: it walks the channel tiles one at a time.
            int step = Avx512F.IsSupported ? 2 : 1;
            for (int ct = 0; ct < g.CoTiles; ct += step)
            {
                bool pair = step == 2 && ct + 1 < g.CoTiles;
                float* d = dq + ct * ConvCoTile * qs;
                for (int ci = 0; ci < cin; ci++)
                {
                    float* x = xp + ci * ps, a = acc + (ct * ConvCoTile * cin + ci) * taps;
                    int t = 0;
                    for (; t + ConvTapTile <= taps; t += ConvTapTile)
                    {
                        int o0 = g.TapOffset(t), o1 = g.TapOffset(t + 1), o2 = g.TapOffset(t + 2);
                        if (pair) WeightTile8x3(x, imgX, d, imgQ, qs, count, qv, o0, o1, o2, a + t, cin * taps);
                        else if (Avx512F.IsSupported) WeightTile4x3(x, imgX, d, imgQ, qs, count, qv, o0, o1, o2, a + t, cin * taps);
                        else WeightTile4x3Avx2(x, imgX, d, imgQ, qs, count, qv, o0, o1, o2, a + t, cin * taps);
                    }
                    for (; t < taps; t++)
                    {
                        if (Avx512F.IsSupported) WeightTile4x1(x, imgX, d, imgQ, qs, count, qv, g.TapOffset(t), a + t, cin * taps);
                        else WeightTile4x1Avx2(x, imgX, d, imgQ, qs, count, qv, g.TapOffset(t), a + t, cin * taps);
                        if (pair) WeightTile4x1(x, imgX, d + ConvCoTile * qs, imgQ, qs, count, qv, g.TapOffset(t), a + ConvCoTile * cin * taps + t, cin * taps);
                    }
                }
            }
        }
    }

    /// <summary>4 output channels × 3 taps of one input channel: per vector of positions four dY loads, three shifted
    /// input loads, 12 FMAs; summed across lanes once per tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void WeightTile4x3(float* x, int imgX, float* d, int imgQ, int qs, int count, int qv,
        int o0, int o1, int o2, float* acc, int coStride)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int i = 0; i < count; i++, x += imgX, d += imgQ)
        {
            // Seven running pointers: the loop body is loads and FMAs only.
            float* p0 = x + o0, p1 = x + o1, p2 = x + o2, e0 = p0 + qv * 16;
            float* r0 = d, r1 = d + qs, r2 = d + 2 * qs, r3 = d + 3 * qs;
            for (; p0 < e0; p0 += 16, p1 += 16, p2 += 16, r0 += 16, r1 += 16, r2 += 16, r3 += 16)
            {
                var x0 = Vector512.Load(p0); var x1 = Vector512.Load(p1); var x2 = Vector512.Load(p2);
                var d0 = Vector512.Load(r0);
                a00 = Avx512F.FusedMultiplyAdd(d0, x0, a00); a01 = Avx512F.FusedMultiplyAdd(d0, x1, a01); a02 = Avx512F.FusedMultiplyAdd(d0, x2, a02);
                var d1 = Vector512.Load(r1);
                a10 = Avx512F.FusedMultiplyAdd(d1, x0, a10); a11 = Avx512F.FusedMultiplyAdd(d1, x1, a11); a12 = Avx512F.FusedMultiplyAdd(d1, x2, a12);
                var d2 = Vector512.Load(r2);
                a20 = Avx512F.FusedMultiplyAdd(d2, x0, a20); a21 = Avx512F.FusedMultiplyAdd(d2, x1, a21); a22 = Avx512F.FusedMultiplyAdd(d2, x2, a22);
                var d3 = Vector512.Load(r3);
                a30 = Avx512F.FusedMultiplyAdd(d3, x0, a30); a31 = Avx512F.FusedMultiplyAdd(d3, x1, a31); a32 = Avx512F.FusedMultiplyAdd(d3, x2, a32);
            }
        }
        acc[0] += Vector512.Sum(a00); acc[1] += Vector512.Sum(a01); acc[2] += Vector512.Sum(a02); acc += coStride;
        acc[0] += Vector512.Sum(a10); acc[1] += Vector512.Sum(a11); acc[2] += Vector512.Sum(a12); acc += coStride;
        acc[0] += Vector512.Sum(a20); acc[1] += Vector512.Sum(a21); acc[2] += Vector512.Sum(a22); acc += coStride;
        acc[0] += Vector512.Sum(a30); acc[1] += Vector512.Sum(a31); acc[2] += Vector512.Sum(a32);
    }

    /// <summary>8 output channels × 3 taps: eight dY loads and three shifted input loads per 24 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void WeightTile8x3(float* x, int imgX, float* d, int imgQ, int qs, int count, int qv,
        int o0, int o1, int o2, float* acc, int coStride)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        Vector512<float> a40 = default, a41 = default, a42 = default, a50 = default, a51 = default, a52 = default;
        Vector512<float> a60 = default, a61 = default, a62 = default, a70 = default, a71 = default, a72 = default;
        for (int i = 0; i < count; i++, x += imgX, d += imgQ)
        {
            float* p0 = x + o0, p1 = x + o1, p2 = x + o2, e0 = p0 + qv * 16, r = d;
            for (; p0 < e0; p0 += 16, p1 += 16, p2 += 16, r += 16)
            {
                var x0 = Vector512.Load(p0); var x1 = Vector512.Load(p1); var x2 = Vector512.Load(p2);
                var dv = Vector512.Load(r);
                a00 = Avx512F.FusedMultiplyAdd(dv, x0, a00); a01 = Avx512F.FusedMultiplyAdd(dv, x1, a01); a02 = Avx512F.FusedMultiplyAdd(dv, x2, a02);
                dv = Vector512.Load(r + qs);
                a10 = Avx512F.FusedMultiplyAdd(dv, x0, a10); a11 = Avx512F.FusedMultiplyAdd(dv, x1, a11); a12 = Avx512F.FusedMultiplyAdd(dv, x2, a12);
                dv = Vector512.Load(r + 2 * qs);
                a20 = Avx512F.FusedMultiplyAdd(dv, x0, a20); a21 = Avx512F.FusedMultiplyAdd(dv, x1, a21); a22 = Avx512F.FusedMultiplyAdd(dv, x2, a22);
                dv = Vector512.Load(r + 3 * qs);
                a30 = Avx512F.FusedMultiplyAdd(dv, x0, a30); a31 = Avx512F.FusedMultiplyAdd(dv, x1, a31); a32 = Avx512F.FusedMultiplyAdd(dv, x2, a32);
                dv = Vector512.Load(r + 4 * qs);
                a40 = Avx512F.FusedMultiplyAdd(dv, x0, a40); a41 = Avx512F.FusedMultiplyAdd(dv, x1, a41); a42 = Avx512F.FusedMultiplyAdd(dv, x2, a42);
                dv = Vector512.Load(r + 5 * qs);
                a50 = Avx512F.FusedMultiplyAdd(dv, x0, a50); a51 = Avx512F.FusedMultiplyAdd(dv, x1, a51); a52 = Avx512F.FusedMultiplyAdd(dv, x2, a52);
                dv = Vector512.Load(r + 6 * qs);
                a60 = Avx512F.FusedMultiplyAdd(dv, x0, a60); a61 = Avx512F.FusedMultiplyAdd(dv, x1, a61); a62 = Avx512F.FusedMultiplyAdd(dv, x2, a62);
                dv = Vector512.Load(r + 7 * qs);
                a70 = Avx512F.FusedMultiplyAdd(dv, x0, a70); a71 = Avx512F.FusedMultiplyAdd(dv, x1, a71); a72 = Avx512F.FusedMultiplyAdd(dv, x2, a72);
            }
        }
        acc[0] += Vector512.Sum(a00); acc[1] += Vector512.Sum(a01); acc[2] += Vector512.Sum(a02); acc += coStride;
        acc[0] += Vector512.Sum(a10); acc[1] += Vector512.Sum(a11); acc[2] += Vector512.Sum(a12); acc += coStride;
        acc[0] += Vector512.Sum(a20); acc[1] += Vector512.Sum(a21); acc[2] += Vector512.Sum(a22); acc += coStride;
        acc[0] += Vector512.Sum(a30); acc[1] += Vector512.Sum(a31); acc[2] += Vector512.Sum(a32); acc += coStride;
        acc[0] += Vector512.Sum(a40); acc[1] += Vector512.Sum(a41); acc[2] += Vector512.Sum(a42); acc += coStride;
        acc[0] += Vector512.Sum(a50); acc[1] += Vector512.Sum(a51); acc[2] += Vector512.Sum(a52); acc += coStride;
        acc[0] += Vector512.Sum(a60); acc[1] += Vector512.Sum(a61); acc[2] += Vector512.Sum(a62); acc += coStride;
        acc[0] += Vector512.Sum(a70); acc[1] += Vector512.Sum(a71); acc[2] += Vector512.Sum(a72);
    }

    /// <summary>The remaining taps when the kernel's tap count is not a multiple of 3: 4 output channels × 1 tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void WeightTile4x1(float* x, int imgX, float* d, int imgQ, int qs, int count, int qv, int o, float* acc, int coStride)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < count; i++, x += imgX, d += imgQ)
            for (int v = 0; v < qv; v++)
            {
                int q = v * 16;
                var x0 = Vector512.Load(x + q + o);
                a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(d + q), x0, a0);
                a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(d + qs + q), x0, a1);
                a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(d + 2 * qs + q), x0, a2);
                a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(d + 3 * qs + q), x0, a3);
            }
        acc[0] += Vector512.Sum(a0); acc[coStride] += Vector512.Sum(a1); acc[2 * coStride] += Vector512.Sum(a2); acc[3 * coStride] += Vector512.Sum(a3);
    }
}
