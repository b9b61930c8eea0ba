using System.Numerics;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

// CPU kernels for batch norm and layer norm (IBackend.Norm.cs). Work is split over coarse items (rows,
// channels) so that each item's data is read from memory once and then re-read from cache by the later
// passes of the same item (statistics, then normalise).
public sealed partial class CpuBackend
{
    /// <summary>Below this many contiguous values per channel and sample, batch norm walks whole rows
    /// (all channels of a chunk at once, as for [N, C]) instead of one channel at a time.</summary>
    const int ChannelMajorMinInner = 32;

    [ThreadStatic] static float[]? _maskedGradient;

    /// <summary>Rows summed in float before the partial sums go into double accumulators.</summary>
    const int FloatBlockRows = 256;

    /// <summary>Threading.For over <paramref name="n"/> coarse items (rows, channels) of about <paramref name="itemCost"/> work each.</summary>
    static void ForItems(int n, int itemCost, Action<int, int> body)
    {
        if (n > 0) Threading.For(n, body, Threading.Grain(itemCost));
    }

    // ---- batch norm --------------------------------------------------------------------------

    public void BatchNormTrainForward(Tensor x, int outer, int channels, int inner, Tensor? weight, Tensor? bias, float eps,
                                      Tensor y, Tensor mean, Tensor variance, bool relu = false)
    {
        var p = new BnArgs(x, outer, channels, inner, weight, bias, mean, variance, eps, relu);
        var yd = Data(y); int yo = y.Offset;
        if (inner >= ChannelMajorMinInner)
            ForItems(channels, outer * inner, (c0, c1) =>
            {
                for (int c = c0; c < c1; c++)
                {
                    var (mu, var) = p.ChannelStatistics(c);
                    p.Mean[p.MeanOffset + c] = mu;
                    p.Var[p.VarOffset + c] = var;
                    p.NormaliseChannel(c, mu, var, yd, yo);
                }
            });
        else
            ForItems(channels, outer * inner, (c0, c1) =>
            {
                var cols = new BnColumns(p, c0, c1);
                cols.Statistics();
                cols.Normalise(yd, yo);
            });
    }

    public void BatchNormApply(Tensor x, int outer, int channels, int inner, Tensor mean, Tensor variance,
                               Tensor? weight, Tensor? bias, float eps, Tensor y, bool relu = false)
    {
        var p = new BnArgs(x, outer, channels, inner, weight, bias, mean, variance, eps, relu);
        var yd = Data(y); int yo = y.Offset;
        if (inner >= ChannelMajorMinInner)
            ForItems(channels, outer * inner, (c0, c1) =>
            {
                for (int c = c0; c < c1; c++)
                    p.NormaliseChannel(c, p.Mean[p.MeanOffset + c], p.Var[p.VarOffset + c], yd, yo);
            });
        else
            ForItems(channels, outer * inner, (c0, c1) =>
            {
                var cols = new BnColumns(p, c0, c1);
                cols.LoadStatistics();
                cols.Normalise(yd, yo);
            });
    }

    public void BatchNormBackward(Tensor x, Tensor g, int outer, int channels, int inner, Tensor mean, Tensor variance,
                                  Tensor? weight, float eps, bool batchStatistics, Tensor? gx, Tensor sumG, Tensor sumGXhat,
                                  FusedRelu? relu = null, GradientPrune? pruneInput = null)
    {
        var p = new BnArgs(x, outer, channels, inner, weight, relu?.Bias, mean, variance, eps);
        // A fused prune runs on each row of gx right after it is written, while the row is in L1.
        var prune = gx == null || pruneInput == null ? null : new RowPrune(pruneInput, gx);
        var gd = Data(g); int go = g.Offset;
        // The row-wise path below reads the ReLU's output for its mask; the channel-wise one forms it again.
        float[]? rd = relu == null ? null : Data(relu.Output);
        int ro = relu?.Output.Offset ?? 0;
        var sgd = Data(sumG); var sxd = Data(sumGXhat);
        int sgo = sumG.Offset, sxo = sumGXhat.Offset;
        float[]? od = gx == null ? null : Data(gx);
        int oo = gx?.Offset ?? 0;
        int m = outer * inner, row = channels * inner;
        if (inner >= ChannelMajorMinInner)
            ForItems(channels, 2 * m, (c0, c1) =>
            {
                // Fused with a ReLU: the channel's g·[y > 0], formed once while it is read and re-read from cache (in a
                // per-thread buffer: a channel is 100K floats, a large-object allocation per call otherwise). y is
                // formed again from x by the forward's own NormaliseChannel arithmetic rather than read back: the same
                // mask without a third stream from memory.
                var masked = relu == null ? null : ThreadScratch(ref _maskedGradient, m);
                var pruned = new PruneSums();
                for (int c = c0; c < c1; c++)
                {
                    float mu = p.Mean[p.MeanOffset + c], invStd = 1f / MathF.Sqrt(p.Var[p.VarOffset + c] + eps);
                    var (scale, shift) = p.Affine(c, p.Var[p.VarOffset + c]);
                    double sg = 0, sgx = 0;
                    for (int n = 0; n < outer; n++)
                    {
                        int at = n * row + c * inner;
                        ReadOnlySpan<float> gr = gd.AsSpan(go + at, inner);
                        if (masked != null)
                        {
                            var mr = masked.AsSpan(n * inner, inner);
                            CombineCentered(default, 0, p.X.AsSpan(p.XOffset + at, inner), mu, scale, shift, mr);
                            Simd.Zip<ReluBackwardOperator>(mr, gr, mr);
                            gr = mr;
                        }
                        var (a, b) = SumAndCenteredDot(gr, p.X.AsSpan(p.XOffset + at, inner), mu);
                        sg += a; sgx += b;
                    }
                    float sumGc = (float)sg, sumGXc = (float)(sgx * invStd);
                    sgd[sgo + c] = sumGc; sxd[sxo + c] = sumGXc;
                    if (od == null) continue;
                    var (ka, kb, kc) = InputGradientCoefficients(p.Gamma(c), invStd, sumGc, sumGXc, m, batchStatistics);
                    for (int n = 0; n < outer; n++)
                    {
                        int at = n * row + c * inner;
                        ReadOnlySpan<float> gr = masked != null ? masked.AsSpan(n * inner, inner) : gd.AsSpan(go + at, inner);
                        CombineCentered(gr, ka, p.X.AsSpan(p.XOffset + at, inner), mu, kb, kc, od.AsSpan(oo + at, inner));
                        prune?.Row(od.AsSpan(oo + at, inner), at, ref pruned);
                    }
                }
                prune?.Add(pruned);
            });
        else
            ForItems(channels, 2 * m, (c0, c1) =>
            {
                var cols = new BnColumns(p, c0, c1);
                cols.LoadStatistics();
                int w = cols.Width;
                var accG = new double[w]; var accGX = new double[w];
                var fG = new float[w]; var fGX = new float[w]; var tmp = new float[w];
                var maskedRow = rd == null ? null : new float[w];
                ReadOnlySpan<float> Grad(int n)
                {
                    ReadOnlySpan<float> gr = gd.AsSpan(go + n * row + cols.Start, w);
                    if (maskedRow == null) return gr;
                    Simd.Zip<ReluBackwardOperator>(rd.AsSpan(ro + n * row + cols.Start, w), gr, maskedRow);
                    return maskedRow;
                }
                for (int n = 0; n < outer; n++)
                {
                    var gr = Grad(n);
                    TensorPrimitives.Add(fG, gr, fG);
                    TensorPrimitives.Subtract(p.X.AsSpan(p.XOffset + n * row + cols.Start, w), cols.ColMean, tmp);
                    TensorPrimitives.MultiplyAdd(tmp, gr, fGX, fGX);
                    if ((n + 1) % FloatBlockRows == 0 || n == outer - 1) { Flush(fG, accG); Flush(fGX, accGX); }
                }
                // Per channel: sums, then the coefficients of gx = ka·g + kb·(x − μ) + kc spread over its columns.
                var colA = fG; var colB = fGX; var colC = tmp;
                for (int c = c0; c < c1; c++)
                {
                    int k0 = (c - c0) * inner;
                    double sg = 0, sgx = 0;
                    for (int k = k0; k < k0 + inner; k++) { sg += accG[k]; sgx += accGX[k]; }
                    float invStd = 1f / MathF.Sqrt(p.Var[p.VarOffset + c] + eps);
                    float sumGc = (float)sg, sumGXc = (float)(sgx * invStd);
                    sgd[sgo + c] = sumGc; sxd[sxo + c] = sumGXc;
                    var (ka, kb, kc) = InputGradientCoefficients(p.Gamma(c), invStd, sumGc, sumGXc, m, batchStatistics);
                    colA.AsSpan(k0, inner).Fill(ka); colB.AsSpan(k0, inner).Fill(kb); colC.AsSpan(k0, inner).Fill(kc);
                }
                if (od == null) return;
                var centred = new float[w];
                var pruned = new PruneSums();
                for (int n = 0; n < outer; n++)
                {
                    int at = n * row + cols.Start;
                    var o = od.AsSpan(oo + at, w);
                    TensorPrimitives.Subtract(p.X.AsSpan(p.XOffset + at, w), cols.ColMean, centred);
                    TensorPrimitives.MultiplyAdd(centred, colB, colC, o);
                    TensorPrimitives.MultiplyAdd(Grad(n), colA, o, o);
                    prune?.Row(o, at, ref pruned);
                }
                prune?.Add(pruned);
            });
        prune?.WriteStats();
    }

    /// <summary>
    /// gx = ka·g + kb·(x − μ) + kc. With batch statistics, dx = (γσ⁻¹/M)·(M·g − Σg − x̂·Σg·x̂) and
    /// x̂ = (x − μ)σ⁻¹, so ka = γσ⁻¹, kb = −γσ⁻²·Σg·x̂/M, kc = −γσ⁻¹·Σg/M; with fixed statistics only ka.
    /// </summary>
    static (float A, float B, float C) InputGradientCoefficients(float gamma, float invStd, float sumG, float sumGXhat, int m, bool batchStatistics)
    {
        float a = gamma * invStd;
        if (!batchStatistics) return (a, 0, 0);
        return (a, -a * invStd * sumGXhat / m, -a * sumG / m);
    }

    /// <summary>Adds float partial sums into double accumulators and clears them.</summary>
    static void Flush(float[] partial, double[] acc)
    {
        for (int i = 0; i < partial.Length; i++) acc[i] += partial[i];
        Array.Clear(partial);
    }

    /// <summary>The pointers and strides of one batch-norm call, and the per-channel work on them.</summary>
    readonly struct BnArgs
    {
        public readonly float[] X, Mean, Var;
        public readonly float[]? W, B;
        public readonly int XOffset, MeanOffset, VarOffset, WOffset, BOffset, Outer, Channels, Inner;
        public readonly float Eps;
        /// <summary>The output is max(0, y): a ReLU fused into the normalising pass.</summary>
        public readonly bool Relu;

        public BnArgs(Tensor x, int outer, int channels, int inner, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps,
            bool relu = false)
        {
            Relu = relu;
            X = Data(x); XOffset = x.Offset;
            Mean = Data(mean); MeanOffset = mean.Offset;
            Var = Data(variance); VarOffset = variance.Offset;
            W = weight == null ? null : Data(weight); WOffset = weight?.Offset ?? 0;
            B = bias == null ? null : Data(bias); BOffset = bias?.Offset ?? 0;
            Outer = outer; Channels = channels; Inner = inner; Eps = eps;
        }

        public int Row => Channels * Inner;
        public float Gamma(int c) => W == null ? 1f : W[WOffset + c];
        public float Beta(int c) => B == null ? 0f : B[BOffset + c];

        /// <summary>Mean, then biased variance as the mean squared deviation (two passes: the second
        /// reads the channel from cache and avoids the cancellation of E[x²] − E[x]²).</summary>
        public (float Mean, float Var) ChannelStatistics(int c)
        {
            int count = Outer * Inner;
            double sum = 0;
            for (int n = 0; n < Outer; n++) sum += TensorPrimitives.Sum<float>(X.AsSpan(XOffset + n * Row + c * Inner, Inner));
            float mu = (float)(sum / count);
            double sq = 0;
            for (int n = 0; n < Outer; n++) sq += SumSquaredDeviation(X.AsSpan(XOffset + n * Row + c * Inner, Inner), mu);
            return (mu, (float)(sq / count));
        }

        /// <summary>The channel's γσ⁻¹ and β, as the forward computes them.</summary>
        public (float Scale, float Shift) Affine(int c, float var) => (Gamma(c) / MathF.Sqrt(var + Eps), Beta(c));

        /// <summary>y = (x − μ)·γσ⁻¹ + β over one channel (then max(0, y) when fused with a ReLU).</summary>
        public void NormaliseChannel(int c, float mu, float var, float[] y, int yOffset)
        {
            var (scale, shift) = Affine(c, var);
            for (int n = 0; n < Outer; n++)
            {
                int at = n * Row + c * Inner;
                var ys = y.AsSpan(yOffset + at, Inner);
                CombineCentered(default, 0, X.AsSpan(XOffset + at, Inner), mu, scale, shift, ys);
                if (Relu) Simd.Map<ReluOperator>(ys, ys);
            }
        }
    }

    /// <summary>Batch norm over a chunk of channels [c0, c1) that walks whole rows of the chunk: for
    /// [N, C] and small spatial sizes, where a single channel's values are too scattered for SIMD.
    /// Per-column arrays hold the channel's value spread over its <c>inner</c> columns.</summary>
    sealed class BnColumns
    {
        readonly BnArgs _p;
        readonly int _c0, _c1;
        public int Start { get; }
        public int Width { get; }
        public float[] ColMean { get; }
        readonly float[] _colScale, _colShift;

        public BnColumns(BnArgs p, int c0, int c1)
        {
            _p = p; _c0 = c0; _c1 = c1;
            Start = c0 * p.Inner; Width = (c1 - c0) * p.Inner;
            ColMean = new float[Width]; _colScale = new float[Width]; _colShift = new float[Width];
        }

        /// <summary>Batch mean and biased variance of each channel, written to the mean/variance outputs.</summary>
        public void Statistics()
        {
            var p = _p;
            int w = Width, count = p.Outer * p.Inner;
            var acc = new double[w]; var part = new float[w]; var tmp = new float[w];
            for (int n = 0; n < p.Outer; n++)
            {
                TensorPrimitives.Add(part, p.X.AsSpan(p.XOffset + n * p.Row + Start, w), part);
                if ((n + 1) % FloatBlockRows == 0 || n == p.Outer - 1) Flush(part, acc);
            }
            for (int c = _c0; c < _c1; c++)
            {
                int k0 = (c - _c0) * p.Inner;
                double s = 0;
                for (int k = k0; k < k0 + p.Inner; k++) s += acc[k];
                float mu = (float)(s / count);
                p.Mean[p.MeanOffset + c] = mu;
                ColMean.AsSpan(k0, p.Inner).Fill(mu);
            }
            Array.Clear(acc);
            for (int n = 0; n < p.Outer; n++)
            {
                TensorPrimitives.Subtract(p.X.AsSpan(p.XOffset + n * p.Row + Start, w), ColMean, tmp);
                TensorPrimitives.MultiplyAdd(tmp, tmp, part, part);
                if ((n + 1) % FloatBlockRows == 0 || n == p.Outer - 1) Flush(part, acc);
            }
            for (int c = _c0; c < _c1; c++)
            {
                int k0 = (c - _c0) * p.Inner;
                double s = 0;
                for (int k = k0; k < k0 + p.Inner; k++) s += acc[k];
                float var = (float)(s / count);
                p.Var[p.VarOffset + c] = var;
                SetAffine(c, k0, var);
            }
        }

        /// <summary>Takes the statistics from the mean/variance inputs (evaluation, backward).</summary>
        public void LoadStatistics()
        {
            var p = _p;
            for (int c = _c0; c < _c1; c++)
            {
                int k0 = (c - _c0) * p.Inner;
                ColMean.AsSpan(k0, p.Inner).Fill(p.Mean[p.MeanOffset + c]);
                SetAffine(c, k0, p.Var[p.VarOffset + c]);
            }
        }

        void SetAffine(int c, int k0, float var)
        {
            _colScale.AsSpan(k0, _p.Inner).Fill(_p.Gamma(c) / MathF.Sqrt(var + _p.Eps));
            _colShift.AsSpan(k0, _p.Inner).Fill(_p.Beta(c));
        }

        /// <summary>y = (x − μ)·γσ⁻¹ + β, row by row.</summary>
        public void Normalise(float[] y, int yOffset)
        {
            var p = _p;
            var tmp = new float[Width];
            for (int n = 0; n < p.Outer; n++)
            {
                int at = n * p.Row + Start;
                TensorPrimitives.Subtract(p.X.AsSpan(p.XOffset + at, Width), ColMean, tmp);
                var ys = y.AsSpan(yOffset + at, Width);
                TensorPrimitives.MultiplyAdd(tmp, _colScale, _colShift, ys);
                if (p.Relu) Simd.Map<ReluOperator>(ys, ys);
            }
        }
    }

    // ---- layer norm --------------------------------------------------------------------------

    public void LayerNormForward(Tensor x, int rows, int dim, Tensor? weight, Tensor? bias, float eps, Tensor y, Tensor mean, Tensor rstd)
    {
        if (dim == 0) return;
        var xd = Data(x); var yd = Data(y); var md = Data(mean); var rd = Data(rstd);
        int xo = x.Offset, yo = y.Offset, mo = mean.Offset, ro = rstd.Offset;
        float[]? wd = weight == null ? null : Data(weight), bd = bias == null ? null : Data(bias);
        int wo = weight?.Offset ?? 0, bo = bias?.Offset ?? 0;
        ForItems(rows, 2 * dim, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                ReadOnlySpan<float> xs = xd.AsSpan(xo + r * dim, dim);
                var ys = yd.AsSpan(yo + r * dim, dim);
                float mu = TensorPrimitives.Sum<float>(xs) / dim;
                float rs = 1f / MathF.Sqrt(SumSquaredDeviation(xs, mu) / dim + eps);
                md[mo + r] = mu; rd[ro + r] = rs;
                CombineCentered(default, 0, xs, mu, rs, 0, ys);
                if (wd != null && bd != null) TensorPrimitives.MultiplyAdd(ys, wd.AsSpan(wo, dim), bd.AsSpan(bo, dim), ys);
                else if (wd != null) TensorPrimitives.Multiply(ys, wd.AsSpan(wo, dim), ys);
                else if (bd != null) TensorPrimitives.Add(ys, bd.AsSpan(bo, dim), ys);
            }
        });
    }

    public void LayerNormBackward(Tensor x, Tensor g, int rows, int dim, Tensor mean, Tensor rstd, Tensor? weight,
                                  Tensor? gx, Tensor? gWeight, Tensor? gBias)
    {
        if (gWeight != null) Span(gWeight).Clear();
        if (gBias != null) Span(gBias).Clear();
        if (dim == 0 || rows == 0) return;
        var xd = Data(x); var gd = Data(g); var md = Data(mean); var rd = Data(rstd);
        int xo = x.Offset, go = g.Offset, mo = mean.Offset, ro = rstd.Offset;
        float[]? wd = weight == null ? null : Data(weight), od = gx == null ? null : Data(gx);
        int wo = weight?.Offset ?? 0, oo = gx?.Offset ?? 0;
        var sync = new object();
        ForItems(rows, 4 * dim, (r0, r1) =>
        {
            var xhat = new float[dim];
            var gh = wd != null ? new float[dim] : null;
            var pw = gWeight != null ? new float[dim] : null;
            var pb = gBias != null ? new float[dim] : null;
            for (int r = r0; r < r1; r++)
            {
                ReadOnlySpan<float> xs = xd.AsSpan(xo + r * dim, dim), gs = gd.AsSpan(go + r * dim, dim);
                float mu = md[mo + r], rs = rd[ro + r];
                CombineCentered(default, 0, xs, mu, rs, 0, xhat);
                if (pw != null) TensorPrimitives.MultiplyAdd(gs, xhat, pw, pw);
                if (pb != null) TensorPrimitives.Add(pb, gs, pb);
                if (od == null) continue;
                ReadOnlySpan<float> ghs = gs;
                if (gh != null) { TensorPrimitives.Multiply(gs, wd.AsSpan(wo, dim), gh); ghs = gh; }
                float s1 = TensorPrimitives.Sum<float>(ghs) / dim, s2 = TensorPrimitives.Dot(ghs, xhat) / dim;
                // gx = rstd·(ĝ − s1 − x̂·s2)
                var o = od.AsSpan(oo + r * dim, dim);
                TensorPrimitives.MultiplyAdd(xhat, -s2, ghs, o);
                Simd.Map<AffineOperator>(o, o, rs, -s1 * rs);
            }
            if (pw == null && pb == null) return;
            lock (sync)
            {
                if (pw != null) TensorPrimitives.Add(Span(gWeight!), pw, Span(gWeight!));
                if (pb != null) TensorPrimitives.Add(Span(gBias!), pb, Span(gBias!));
            }
        });
    }
}
