using System.Numerics;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

// CPU kernels for fused log-softmax + NLL with label smoothing (IBackend.Norm.cs).
public sealed partial class CpuBackend
{
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
}
