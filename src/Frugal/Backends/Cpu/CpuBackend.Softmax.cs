using System.Numerics;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

// CPU kernels for softmax and log-softmax over [outer, dim, inner], forward and backward (IBackend.Norm.cs).
public sealed partial class CpuBackend
{
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
}
