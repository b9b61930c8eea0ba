using System.Numerics;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

// CPU kernels for activations, softmax, cross-entropy, batch norm and layer norm (IBackend.Norm.cs).
// Work is split over coarse items (rows, channels) so that each item's data is read from memory once
// and then re-read from cache by the later passes of the same item (statistics, then normalise).
public sealed partial class CpuBackend
{
    /// <summary>Below this many contiguous values per channel and sample, batch norm walks whole rows
    /// (all channels of a chunk at once, as for [N, C]) instead of one channel at a time.</summary>
    const int ChannelMajorMinInner = 32;

    /// <summary>Rows summed in float before the partial sums go into double accumulators.</summary>
    const int FloatBlockRows = 256;

    /// <summary>Threading.For over <paramref name="n"/> coarse items (rows, channels) of about <paramref name="itemCost"/> work each.</summary>
    static void ForItems(int n, int itemCost, Action<int, int> body)
    {
        if (n > 0) Threading.For(n, body, Threading.Grain(itemCost));
    }

    // ---- leaky ReLU ------------------------------------------------------------------------

    public void LeakyReluBackward(Tensor x, Tensor g, float slope, Tensor gx)
    {
        var xd = Data(x); var gd = Data(g); var od = Data(gx);
        int xo = x.Offset, go = g.Offset, oo = gx.Offset;
        Threading.For(gx.Numel, (s, e) => LeakyReluBackwardSpan(xd.AsSpan(xo + s, e - s), gd.AsSpan(go + s, e - s), slope, od.AsSpan(oo + s, e - s)));
    }

    static void LeakyReluBackwardSpan(ReadOnlySpan<float> x, ReadOnlySpan<float> g, float slope, Span<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x), gr = ref MemoryMarshal.GetReference(g), yr = ref MemoryMarshal.GetReference(y);
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(slope);
        for (; i <= y.Length - w; i += w)
        {
            var vg = Vector.LoadUnsafe(ref gr, (nuint)i);
            var pos = Vector.GreaterThan(Vector.LoadUnsafe(ref xr, (nuint)i), Vector<float>.Zero);
            Vector.ConditionalSelect(pos, vg, vg * vs).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < y.Length; i++) y[i] = x[i] > 0 ? g[i] : slope * g[i];
    }

    // ---- softmax -----------------------------------------------------------------------------

    public void Softmax(Tensor x, int outer, int dim, int inner, bool log, Tensor y)
    {
        if (outer == 0 || dim == 0 || inner == 0) return;
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset, block = dim * inner;
        ForItems(outer, block, (o0, o1) =>
        {
            float[] m = inner > 1 ? new float[inner] : [], s = inner > 1 ? new float[inner] : [];
            for (int o = o0; o < o1; o++)
            {
                ReadOnlySpan<float> xs = xd.AsSpan(xo + o * block, block);
                var ys = yd.AsSpan(yo + o * block, block);
                if (inner == 1) SoftmaxRow(xs, ys, log);
                else SoftmaxColumns(xs, ys, dim, inner, log, m, s);
            }
        });
    }

    /// <summary>One contiguous row: m = max, e = exp(x − m), y = e/Σe or (x − m) − log Σe.</summary>
    static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y, bool log)
    {
        float m = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, m, y);
        TensorPrimitives.Exp(y, y);
        float s = TensorPrimitives.Sum<float>(y);
        if (log)
        {
            // (x − m) − log s rather than x − (m + log s): exact where x ≈ m even for large logits.
            TensorPrimitives.Subtract(x, m, y);
            TensorPrimitives.Subtract(y, MathF.Log(s), y);
        }
        else TensorPrimitives.Divide(y, s, y);
    }

    /// <summary>A [dim, inner] block reduced along dim, vectorised across the inner positions.</summary>
    static void SoftmaxColumns(ReadOnlySpan<float> x, Span<float> y, int dim, int inner, bool log, Span<float> m, Span<float> s)
    {
        x[..inner].CopyTo(m);
        for (int d = 1; d < dim; d++) TensorPrimitives.Max(m, x.Slice(d * inner, inner), m);
        s.Clear();
        for (int d = 0; d < dim; d++)
        {
            var yr = y.Slice(d * inner, inner);
            TensorPrimitives.Subtract(x.Slice(d * inner, inner), m, yr);
            TensorPrimitives.Exp(yr, yr);
            TensorPrimitives.Add(s, yr, s);
        }
        if (log)
        {
            TensorPrimitives.Log(s, s);
            for (int d = 0; d < dim; d++)
            {
                var yr = y.Slice(d * inner, inner);
                TensorPrimitives.Subtract(x.Slice(d * inner, inner), m, yr);
                TensorPrimitives.Subtract(yr, s, yr);
            }
        }
        else
            for (int d = 0; d < dim; d++)
            {
                var yr = y.Slice(d * inner, inner);
                TensorPrimitives.Divide(yr, s, yr);
            }
    }

    public void SoftmaxBackward(Tensor y, Tensor g, int outer, int dim, int inner, bool log, Tensor gx)
    {
        if (outer == 0 || dim == 0 || inner == 0) return;
        var yd = Data(y); var gd = Data(g); var od = Data(gx);
        int yo = y.Offset, go = g.Offset, oo = gx.Offset, block = dim * inner;
        ForItems(outer, block, (o0, o1) =>
        {
            var acc = new float[inner];
            for (int o = o0; o < o1; o++)
            {
                ReadOnlySpan<float> ys = yd.AsSpan(yo + o * block, block), gs = gd.AsSpan(go + o * block, block);
                var xs = od.AsSpan(oo + o * block, block);
                if (inner == 1)
                {
                    if (log)
                    {
                        // gx = g − exp(y)·Σg  (exp(y) is the softmax)
                        float sg = TensorPrimitives.Sum<float>(gs);
                        TensorPrimitives.Exp(ys, xs);
                        TensorPrimitives.MultiplyAdd(xs, -sg, gs, xs);
                    }
                    else
                    {
                        // gx = y·(g − Σ g·y)
                        float dot = TensorPrimitives.Dot(gs, ys);
                        TensorPrimitives.Subtract(gs, dot, xs);
                        TensorPrimitives.Multiply(xs, ys, xs);
                    }
                    continue;
                }
                Array.Clear(acc);
                for (int d = 0; d < dim; d++)
                {
                    var gr = gs.Slice(d * inner, inner);
                    if (log) TensorPrimitives.Add(acc, gr, acc);
                    else TensorPrimitives.MultiplyAdd(gr, ys.Slice(d * inner, inner), acc, acc);
                }
                for (int d = 0; d < dim; d++)
                {
                    ReadOnlySpan<float> gr = gs.Slice(d * inner, inner), yr = ys.Slice(d * inner, inner);
                    var xr = xs.Slice(d * inner, inner);
                    if (log)
                    {
                        TensorPrimitives.Exp(yr, xr);
                        TensorPrimitives.Multiply(xr, acc, xr);
                        TensorPrimitives.Subtract(gr, xr, xr);
                    }
                    else
                    {
                        TensorPrimitives.Subtract(gr, acc, xr);
                        TensorPrimitives.Multiply(xr, yr, xr);
                    }
                }
            }
        });
    }

    // ---- cross-entropy -----------------------------------------------------------------------

    public void CrossEntropyForward(Tensor logits, int n, int c, int[] targets, float labelSmoothing, Tensor loss, Tensor probs)
    {
        if (n == 0) return;
        var xd = Data(logits); var ld = Data(loss); var pd = Data(probs);
        int xo = logits.Offset, lo = loss.Offset, po = probs.Offset;
        double eps = labelSmoothing;
        ForItems(n, c, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                ReadOnlySpan<float> x = xd.AsSpan(xo + r * c, c);
                var p = pd.AsSpan(po + r * c, c);
                float m = TensorPrimitives.Max(x);
                TensorPrimitives.Subtract(x, m, p);
                TensorPrimitives.Exp(p, p);
                float s = TensorPrimitives.Sum<float>(p);
                TensorPrimitives.Divide(p, s, p);
                // −log p_j = lse − x_j with lse = m + log s; smoothing averages it over all classes.
                double lse = m + Math.Log(s);
                double l = (1 - eps) * (lse - x[targets[r]]);
                if (eps != 0) l += eps * (lse - (double)TensorPrimitives.Sum<float>(x) / c);
                ld[lo + r] = (float)l;
            }
        });
    }

    public void CrossEntropyBackward(Tensor probs, int n, int c, int[] targets, float labelSmoothing, Tensor gradLoss, float scale, Tensor gx)
    {
        if (n == 0) return;
        if (gradLoss.Numel != 1 && gradLoss.Numel != n)
            throw new ArgumentException($"cross_entropy backward: gradient has {gradLoss.Numel} values for {n} rows (expected 1 or {n})");
        var pd = Data(probs); var gd = Data(gradLoss); var od = Data(gx);
        int po = probs.Offset, go = gradLoss.Offset, oo = gx.Offset;
        bool perRow = gradLoss.Numel != 1;
        float eps = labelSmoothing;
        ForItems(n, c, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                float k = gd[go + (perRow ? r : 0)] * scale;
                ReadOnlySpan<float> p = pd.AsSpan(po + r * c, c);
                var o = od.AsSpan(oo + r * c, c);
                // (p − (1 − ε)·onehot − ε/C)·k
                if (eps == 0) TensorPrimitives.Multiply(p, k, o);
                else Simd.Map<AffineOperator>(p, o, k, -eps * k / c);
                o[targets[r]] -= (1 - eps) * k;
            }
        });
    }

    // ---- batch norm --------------------------------------------------------------------------

    public void BatchNormTrainForward(Tensor x, int outer, int channels, int inner, Tensor? weight, Tensor? bias, float eps,
                                      Tensor y, Tensor mean, Tensor variance)
    {
        var p = new BnArgs(x, outer, channels, inner, weight, bias, mean, variance, eps);
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
                               Tensor? weight, Tensor? bias, float eps, Tensor y)
    {
        var p = new BnArgs(x, outer, channels, inner, weight, bias, mean, variance, eps);
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
                                  Tensor? weight, float eps, bool batchStatistics, Tensor? gx, Tensor sumG, Tensor sumGXhat)
    {
        var p = new BnArgs(x, outer, channels, inner, weight, null, mean, variance, eps);
        var gd = Data(g); int go = g.Offset;
        var sgd = Data(sumG); var sxd = Data(sumGXhat);
        int sgo = sumG.Offset, sxo = sumGXhat.Offset;
        float[]? od = gx == null ? null : Data(gx);
        int oo = gx?.Offset ?? 0;
        int m = outer * inner, row = channels * inner;
        if (inner >= ChannelMajorMinInner)
            ForItems(channels, 2 * m, (c0, c1) =>
            {
                for (int c = c0; c < c1; c++)
                {
                    float mu = p.Mean[p.MeanOffset + c], invStd = 1f / MathF.Sqrt(p.Var[p.VarOffset + c] + eps);
                    double sg = 0, sgx = 0;
                    for (int n = 0; n < outer; n++)
                    {
                        int at = n * row + c * inner;
                        var (a, b) = SumAndCenteredDot(gd.AsSpan(go + at, inner), p.X.AsSpan(p.XOffset + at, inner), mu);
                        sg += a; sgx += b;
                    }
                    float sumGc = (float)sg, sumGXc = (float)(sgx * invStd);
                    sgd[sgo + c] = sumGc; sxd[sxo + c] = sumGXc;
                    if (od == null) continue;
                    var (ka, kb, kc) = InputGradientCoefficients(p.Gamma(c), invStd, sumGc, sumGXc, m, batchStatistics);
                    for (int n = 0; n < outer; n++)
                    {
                        int at = n * row + c * inner;
                        CombineCentered(gd.AsSpan(go + at, inner), ka, p.X.AsSpan(p.XOffset + at, inner), mu, kb, kc, od.AsSpan(oo + at, inner));
                    }
                }
            });
        else
            ForItems(channels, 2 * m, (c0, c1) =>
            {
                var cols = new BnColumns(p, c0, c1);
                cols.LoadStatistics();
                int w = cols.Width;
                var accG = new double[w]; var accGX = new double[w];
                var fG = new float[w]; var fGX = new float[w]; var tmp = new float[w];
                for (int n = 0; n < outer; n++)
                {
                    ReadOnlySpan<float> gr = gd.AsSpan(go + n * row + cols.Start, w);
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
                for (int n = 0; n < outer; n++)
                {
                    int at = n * row + cols.Start;
                    var o = od.AsSpan(oo + at, w);
                    TensorPrimitives.Subtract(p.X.AsSpan(p.XOffset + at, w), cols.ColMean, centred);
                    TensorPrimitives.MultiplyAdd(centred, colB, colC, o);
                    TensorPrimitives.MultiplyAdd(gd.AsSpan(go + at, w), colA, o, o);
                }
            });
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

        public BnArgs(Tensor x, int outer, int channels, int inner, Tensor? weight, Tensor? bias, Tensor mean, Tensor variance, float eps)
        {
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

        /// <summary>y = (x − μ)·γσ⁻¹ + β over one channel.</summary>
        public void NormaliseChannel(int c, float mu, float var, float[] y, int yOffset)
        {
            float scale = Gamma(c) / MathF.Sqrt(var + Eps), shift = Beta(c);
            for (int n = 0; n < Outer; n++)
            {
                int at = n * Row + c * Inner;
                CombineCentered(default, 0, X.AsSpan(XOffset + at, Inner), mu, scale, shift, y.AsSpan(yOffset + at, Inner));
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
                TensorPrimitives.MultiplyAdd(tmp, _colScale, _colShift, y.AsSpan(yOffset + at, Width));
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

    // ---- vector helpers ----------------------------------------------------------------------

    /// <summary>Σ (x − m)² in one pass.</summary>
    static float SumSquaredDeviation(ReadOnlySpan<float> x, float m)
    {
        ref float xr = ref MemoryMarshal.GetReference(x);
        int i = 0, w = Vector<float>.Count;
        var vm = new Vector<float>(m); var acc = Vector<float>.Zero;
        for (; i <= x.Length - w; i += w)
        {
            var d = Vector.LoadUnsafe(ref xr, (nuint)i) - vm;
            acc += d * d;
        }
        float s = Vector.Sum(acc);
        for (; i < x.Length; i++) { float d = x[i] - m; s += d * d; }
        return s;
    }

    /// <summary>(Σ g, Σ g·(x − m)) in one pass.</summary>
    static (float SumG, float Dot) SumAndCenteredDot(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float m)
    {
        ref float gr = ref MemoryMarshal.GetReference(g); ref float xr = ref MemoryMarshal.GetReference(x);
        int i = 0, w = Vector<float>.Count;
        var vm = new Vector<float>(m); var sg = Vector<float>.Zero; var sd = Vector<float>.Zero;
        for (; i <= g.Length - w; i += w)
        {
            var vg = Vector.LoadUnsafe(ref gr, (nuint)i);
            sg += vg;
            sd += vg * (Vector.LoadUnsafe(ref xr, (nuint)i) - vm);
        }
        float a = Vector.Sum(sg), b = Vector.Sum(sd);
        for (; i < g.Length; i++) { a += g[i]; b += g[i] * (x[i] - m); }
        return (a, b);
    }

    /// <summary>y = ka·g + kb·(x − m) + kc in one pass; g is not read when ka = 0 (it may then be empty).</summary>
    static void CombineCentered(ReadOnlySpan<float> g, float ka, ReadOnlySpan<float> x, float m, float kb, float kc, Span<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x); ref float yr = ref MemoryMarshal.GetReference(y);
        int i = 0, w = Vector<float>.Count;
        var vm = new Vector<float>(m); var vb = new Vector<float>(kb); var vc = new Vector<float>(kc);
        if (ka == 0)
        {
            for (; i <= y.Length - w; i += w)
                ((Vector.LoadUnsafe(ref xr, (nuint)i) - vm) * vb + vc).StoreUnsafe(ref yr, (nuint)i);
            for (; i < y.Length; i++) y[i] = (x[i] - m) * kb + kc;
            return;
        }
        ref float gr = ref MemoryMarshal.GetReference(g);
        var va = new Vector<float>(ka);
        for (; i <= y.Length - w; i += w)
            (va * Vector.LoadUnsafe(ref gr, (nuint)i) + (Vector.LoadUnsafe(ref xr, (nuint)i) - vm) * vb + vc).StoreUnsafe(ref yr, (nuint)i);
        for (; i < y.Length; i++) y[i] = ka * g[i] + (x[i] - m) * kb + kc;
    }
}
