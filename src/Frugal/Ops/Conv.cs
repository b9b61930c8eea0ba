using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// 2-D convolution (PyTorch's conv2d: cross-correlation, weight [Cout, C/groups, kh, kw]). Where the backend has a
/// direct kernel for the window (the CPU's for stride 1 with AVX-512 or AVX2 + FMA, <c>CpuBackend.DirectConv.cs</c>) forward and
/// both gradients take it; otherwise im2col + GEMM on the backend, with grouped and depthwise convolution as one GEMM
/// per group. 1×1 convolutions at stride 1 without padding skip im2col: each image [C, H·W] already is the GEMM operand.
/// </summary>
public static class Conv
{
    /// <summary>y = conv2d(x, weight) + bias for x [N, C, H, W], weight [Cout, C/groups, kh, kw], bias [Cout] or null.</summary>
    public static Tensor Conv2d(this Tensor x, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int groups = 1, int dilation = 1) =>
        x.Conv2d(weight, bias, (stride, stride), (padding, padding), groups, (dilation, dilation));

    /// <summary>Conv2d with separate vertical and horizontal stride, padding and dilation.</summary>
    public static Tensor Conv2d(this Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride, (int H, int W) padding,
        int groups = 1, (int H, int W)? dilation = null)
    {
        var window = Geometry(x, weight, bias, stride, padding, groups, dilation ?? (1, 1));
        return new Conv2dFn().Forward(x, weight, bias, window, groups);
    }

    /// <summary>Validates the operands and returns the sliding-window geometry of the convolution.</summary>
    internal static Window2d Geometry(Tensor x, Tensor w, Tensor? b, (int H, int W) stride, (int H, int W) padding, int groups, (int H, int W) dilation)
    {
        if (x.Rank != 4 || w.Rank != 4)
            throw new ArgumentException($"conv2d: expected input [N, C, H, W] and weight [Cout, C/groups, kh, kw], got {x.Shape} and {w.Shape}");
        Arithmetic.SameDevice("conv2d", x, w);
        int c = x.Shape[1], cout = w.Shape[0];
        if (groups <= 0 || c % groups != 0 || cout % groups != 0)
            throw new ArgumentException($"conv2d: groups {groups} must divide the {c} input channels and the {cout} output channels");
        if (w.Shape[1] * groups != c)
            throw new ArgumentException($"conv2d: input {x.Shape} has {c} channels, weight {w.Shape} expects {w.Shape[1] * groups}" +
                (groups > 1 ? $" ({w.Shape[1]} per group × {groups} groups)" : ""));
        if (b != null)
        {
            if (b.Rank != 1 || b.Shape[0] != cout) throw new ArgumentException($"conv2d: bias {b.Shape} does not match the {cout} output channels (expected [{cout}])");
            Arithmetic.SameDevice("conv2d", x, b);
        }
        if (stride.H <= 0 || stride.W <= 0 || padding.H < 0 || padding.W < 0 || dilation.H <= 0 || dilation.W <= 0)
            throw new ArgumentException($"conv2d: stride {stride} and dilation {dilation} must be positive and padding {padding} non-negative");
        var win = new Window2d(x.Shape[2], x.Shape[3], w.Shape[2], w.Shape[3], stride.H, stride.W, padding.H, padding.W, dilation.H, dilation.W);
        int extH = dilation.H * (win.KernelH - 1) + 1, extW = dilation.W * (win.KernelW - 1) + 1;
        if (extH > win.Height + 2 * padding.H || extW > win.Width + 2 * padding.W || win.Taps == 0)
            throw new ArgumentException($"conv2d: kernel {win.KernelH}x{win.KernelW} (extent {extH}x{extW} with dilation) is larger than the padded input " +
                $"{win.Height + 2 * padding.H}x{win.Width + 2 * padding.W} of {x.Shape}");
        return win;
    }

    /// <summary>A view of images [n0, n0 + count) of an [N, …] tensor.</summary>
    internal static Tensor Images(Tensor t, int n0, int count)
    {
        var dims = t.Shape.ToArray();
        int per = t.Shape.Prod(1, t.Rank);
        dims[0] = count;
        return new Tensor(new Shape(dims), t.Storage, t.Offset + n0 * per);
    }

    /// <summary>
    /// How the columns of a chunk of images meet the GEMM. PerImage: columns [chunk, C·kh·kw, OutH·OutW], one GEMM per
    /// image writing W·col_n straight into y's NCHW layout. Stacked: columns [C·kh·kw, chunk·OutH·OutW], one wide GEMM
    /// per chunk into [Cout, chunk·OutH·OutW], permuted to NCHW (and dY back) at the cost of one copy each way.
    /// Measured with Stopwatch on the 2-core EPYC (OpenBLAS 0.3.21, 2 threads), batch 128, 3×3 pad 1, forward + dX + dW + db,
    /// best of 11 (medians in brackets; the machine is shared and noisy), fresh output tensors included, ms:
    ///   layer              per-image          stacked
    ///   1→32  28×28         4.4 (5.6)          7.5 (11.5)   no dX; K = 9: GEMMs are tiny, the two permutes dominate
    ///   16→16 28×28        18.0 (24.5)        14.9 (16.4)
    ///   32→32 28×28        41.2 (47.1)        39.5 (41.1)   GEMMs run at ~180 GFLOP/s in both; im2col+col2im ≈ 10 ms
    ///   32→64 14×14        19.3 (22.0)        18.9 (22.5)
    ///   64→64 14×14        34.4 (38.8)        33.4 (35.6)
    ///   64→64  7×7         14.3 (14.9)        10.9 (11.5)   per-image GEMMs of 64×49×576 are too small to thread well
    /// so Stacked is the default and PerImage serves the thin first layers (C·kh·kw &lt; <see cref="StackedMinK"/>) on
    /// outputs of at least 512 pixels.
    /// </summary>
    static bool Stacked(int k, int s) => k >= StackedMinK || s < 512;

    internal static int StackedMinK { get; set; } = 64;

    /// <summary>Column floats per chunk: stacked chunks of 4–16 images (≤ 4 MiB of columns) and per-image chunks of ~8 images
    /// at 32×28×28 measured best; the chunk's columns stay in cache between im2col and the GEMMs.</summary>
    internal static int PerImageBudget { get; set; } = 1 << 21;
    internal static int StackedBudget { get; set; } = 1 << 20;
    const int MaxStackedChunk = 16;

    static int ChunkImages(int n, int colPerImage, bool stacked) =>
        Math.Clamp((stacked ? StackedBudget : PerImageBudget) / Math.Max(1, colPerImage), 1, Math.Max(1, stacked ? Math.Min(n, MaxStackedChunk) : n));

    /// <summary>
    /// The conv2d backward without autograd: dX [xShape] (<paramref name="wantX"/>), dW [w.Shape] (<paramref name="wantW"/>,
    /// needs <paramref name="x"/>) and db [Cout] (<paramref name="wantB"/>) for the upstream gradient gy. Column-row sampling
    /// calls it on gathered operands: dX from a subset of output channels, dW from a subset of images.
    /// </summary>
    internal static (Tensor? Gx, Tensor? Gw, Tensor? Gb) Backward(Tensor gy, Tensor? x, Shape xShape, Tensor w, Window2d win, int groups,
        bool wantX, bool wantW, bool wantB)
    {
        if (wantW && x == null) throw new ArgumentException("conv2d backward: the weight gradient needs the input");
        var be = gy.Backend;
        int n = xShape[0], c = xShape[1], cout = w.Shape[0], s = win.OutH * win.OutW;
        int cg = c / groups, coutG = cout / groups, kg = cg * win.Taps, k = c * win.Taps;
        // A pruned gy (mostly zeros) below the measured break-even density goes to the fused sparse kernel, which
        // overwrites both gradients; otherwise dW accumulates over images and chunks (beta = 1 onto zeros).
        bool sparse = groups == 1 && x != null && (wantX || wantW)
            && SparseBackward.Use(SparseBackward.Density(gy), SparseBackward.ConvBreakEvenFor(c, win, wantX));
        Tensor? gx = wantX ? (sparse ? Tensor.Uninitialized(xShape, gy.Device) : Tensor.Empty(xShape, gy.Device)) : null;
        Tensor? gw = wantW ? (sparse ? Tensor.Uninitialized(w.Shape, gy.Device) : Tensor.Zeros(w.Shape, gy.Device)) : null;
        Tensor? gb = null;
        if (wantB)
        {
            // db[c] = Σ_n Σ_p dY[n, c, p]: rows of dY first (long contiguous sums, parallel), then over the batch.
            var perRow = Tensor.Empty(new Shape(n * cout), gy.Device);
            be.Reduce(ReduceOp.Sum, gy, n * cout, s, 1, perRow);
            gb = Tensor.Empty(new Shape(cout), gy.Device);
            be.Reduce(ReduceOp.Sum, perRow, 1, n, cout, gb);
        }
        (Tensor?, Tensor?, Tensor?) Result() => (gx, gw, gb);
        if (gx == null && gw == null) return Result();
        if (sparse) { be.SparseConv2dBackward(gy, x!, w, win, gx, gw); return Result(); }
        // The backend's direct kernels where it has them; im2col + GEMM below computes only what they left.
        bool directX = gx != null && be.TryConv2dBackwardDataDirect(gy, w, win, gx);
        bool directW = gw != null && be.TryConv2dBackwardWeightDirect(gy, x!, win, gw);
        if ((gx == null || directX) && (gw == null || directW)) return Result();

        if (win.IsPointwise)
        {
            for (int g = 0; g < groups; g++)
            {
                // dW_g = Σ_n dY_n[g] · X_n[g]ᵀ ;  dX_n[g] = W_gᵀ · dY_n[g]
                if (gw != null)
                    be.Gemm(false, true, coutG, cg, s, 1f, gy, g * coutG * s, s, cout * s, x!, g * cg * s, s, c * s,
                        1f, gw, g * coutG * cg, cg, 0, n);
                if (gx != null)
                    be.Gemm(true, false, cg, s, coutG, 1f, w, g * coutG * cg, cg, 0, gy, g * coutG * s, s, cout * s,
                        0f, gx, g * cg * s, s, c * s, n);
            }
            return Result();
        }

        bool stacked = Stacked(k, s);
        int chunk = ChunkImages(n, k * s, stacked);
        // The columns are recomputed rather than kept from forward: keeping them would cost kh·kw times the input in memory.
        var col = gw != null && !directW ? Scratch.Get(gy.Device, 0, new Shape(chunk * k * s)) : null;
        var dcol = gx != null && !directX ? Scratch.Get(gy.Device, 1, new Shape(chunk * k * s)) : null;
        var gyc = stacked ? Scratch.Get(gy.Device, 2, new Shape(chunk * cout * s)) : null;
        for (int n0 = 0; n0 < n; n0 += chunk)
        {
            int cnt = Math.Min(chunk, n - n0);
            if (!stacked)
            {
                if (col != null) be.Im2Col(Images(x!, n0, cnt), win, col, k * s, s);
                for (int g = 0; g < groups; g++)
                {
                    int gyOff = (n0 * cout + g * coutG) * s;
                    // dW_g += Σ_n dY_n[g] (coutG × s) · col_n[g]ᵀ (s × kg)
                    if (col != null)
                        be.Gemm(false, true, coutG, kg, s, 1f, gy, gyOff, s, cout * s, col, g * kg * s, s, k * s,
                            1f, gw!, g * coutG * kg, kg, 0, cnt);
                    // dcol_n[g] (kg × s) = W_gᵀ (kg × coutG) · dY_n[g] (coutG × s)
                    if (dcol != null)
                        be.Gemm(true, false, kg, s, coutG, 1f, w, g * coutG * kg, kg, 0, gy, gyOff, s, cout * s,
                            0f, dcol, g * kg * s, s, k * s, cnt);
                }
                if (dcol != null) be.Col2Im(dcol, k * s, s, win, Images(gx!, n0, cnt));
            }
            else
            {
                int ld = cnt * s;
                var gyb = new Tensor(new Shape(cout, cnt, s), gyc!.Storage, gyc.Offset);
                be.Permute(Images(gy, n0, cnt).View(new Shape(cnt, cout, s)), [1, 0, 2], gyb);
                if (col != null) be.Im2Col(Images(x!, n0, cnt), win, col, s, ld);
                for (int g = 0; g < groups; g++)
                {
                    // dW_g += dY[g] (coutG × cnt·s) · col[g]ᵀ (cnt·s × kg)
                    if (col != null)
                        be.Gemm(false, true, coutG, kg, ld, 1f, gyb, g * coutG * ld, ld, 0, col, g * kg * ld, ld, 0,
                            1f, gw!, g * coutG * kg, kg, 0);
                    // dcol[g] (kg × cnt·s) = W_gᵀ (kg × coutG) · dY[g] (coutG × cnt·s)
                    if (dcol != null)
                        be.Gemm(true, false, kg, ld, coutG, 1f, w, g * coutG * kg, kg, 0, gyb, g * coutG * ld, ld, 0,
                            0f, dcol, g * kg * ld, ld, 0);
                }
                if (dcol != null) be.Col2Im(dcol, s, ld, win, Images(gx!, n0, cnt));
            }
        }
        return Result();
    }

    /// <summary>The forward as im2col + GEMM (or the plain GEMM of a 1×1 convolution), one GEMM per group.</summary>
    static void GemmForward(Tensor x, Tensor w, Tensor? b, Window2d win, int groups, Tensor y)
    {
        var be = x.Backend;
        int n = x.Shape[0], c = x.Shape[1], cout = w.Shape[0], s = win.OutH * win.OutW;
        int cg = c / groups, coutG = cout / groups, kg = cg * win.Taps, k = c * win.Taps;
        // With a bias the GEMM output starts as the broadcast bias and the GEMMs accumulate onto it (beta = 1): no extra pass.
        float beta = b != null ? 1 : 0;
        if (win.IsPointwise)
        {
            if (b != null) be.FillChannels(y, b);
            for (int g = 0; g < groups; g++)
                be.Gemm(false, false, coutG, s, cg, 1f, w, g * coutG * cg, cg, 0, x, g * cg * s, s, c * s,
                    beta, y, g * coutG * s, s, cout * s, n);
        }
        else if (!Stacked(k, s))
        {
            int chunk = ChunkImages(n, k * s, stacked: false);
            var col = Scratch.Get(x.Device, 0, new Shape(chunk * k * s));
            if (b != null) be.FillChannels(y, b);
            for (int n0 = 0; n0 < n; n0 += chunk)
            {
                int cnt = Math.Min(chunk, n - n0);
                be.Im2Col(Images(x, n0, cnt), win, col, k * s, s);
                // y_n[g] (coutG × s) = W_g (coutG × kg) · col_n[g] (kg × s), one GEMM per image and group.
                for (int g = 0; g < groups; g++)
                    be.Gemm(false, false, coutG, s, kg, 1f, w, g * coutG * kg, kg, 0, col, g * kg * s, s, k * s,
                        beta, y, (n0 * cout + g * coutG) * s, s, cout * s, cnt);
            }
        }
        else
        {
            int chunk = ChunkImages(n, k * s, stacked: true);
            var col = Scratch.Get(x.Device, 0, new Shape(chunk * k * s));
            var yc = Scratch.Get(x.Device, 2, new Shape(chunk * cout * s));
            for (int n0 = 0; n0 < n; n0 += chunk)
            {
                int cnt = Math.Min(chunk, n - n0), ld = cnt * s;
                be.Im2Col(Images(x, n0, cnt), win, col, s, ld);
                var yb = new Tensor(new Shape(1, cout, cnt, s), yc.Storage, yc.Offset);
                if (b != null) be.FillChannels(yb, b);
                // Y[g] (coutG × cnt·s) = W_g (coutG × kg) · col[g] (kg × cnt·s): one GEMM per chunk and group.
                for (int g = 0; g < groups; g++)
                    be.Gemm(false, false, coutG, ld, kg, 1f, w, g * coutG * kg, kg, 0, col, g * kg * ld, ld, 0,
                        beta, yb, g * coutG * ld, ld, 0);
                be.Permute(yb.View(new Shape(cout, cnt, s)), [1, 0, 2], Images(y, n0, cnt).View(new Shape(cnt, cout, s)));
            }
        }
    }

    sealed class Conv2dFn : Function
    {
        Tensor _x = null!, _w = null!;
        Window2d _win;
        int _groups;
        bool _hasBias;

        public Tensor Forward(Tensor x, Tensor w, Tensor? b, Window2d win, int groups)
        {
            _win = win; _groups = groups; _hasBias = b != null;
            // Every path writes all of y (the direct kernel, bias fill + beta = 1, beta = 0, or the permute), so no zero-fill.
            var y = Tensor.Uninitialized(new Shape(x.Shape[0], w.Shape[0], win.OutH, win.OutW), x.Device);
            if (!x.Backend.TryConv2dDirect(x, w, b, win, y)) GemmForward(x, w, b, win, groups, y);
            if (NeedsGrad(x, w) || (b?.RequiresGrad ?? false)) { _x = x; _w = w; }
            return b == null ? Record(y, x, w) : Record(y, x, w, b);
        }

        public override Tensor?[] Backward(Tensor gy)
        {
            bool wantB = _hasBias && Inputs[2].RequiresGrad;
            var (gx, gw, gb) = Conv.Backward(gy, _x, _x.Shape, _w, _win, _groups, _x.RequiresGrad, _w.RequiresGrad, wantB);
            return _hasBias ? [gx, gw, gb] : [gx, gw];
        }
    }
}
