using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// NumPy broadcasting for binary kernels. Axes are first collapsed wherever both operands are laid
/// out alike, so the common cases become one SIMD call per row: equal shapes (one call), bias
/// [N,C]+[C] (N vector–vector rows), per-channel [N,C,H,W]·[1,C,1,1] (N·C vector–scalar rows).
/// </summary>
static class Broadcast
{
    public static void Zip<TOp>(Tensor a, Tensor b, Tensor y) where TOp : IBinaryOperator
    {
        var ad = CpuBackend.Data(a); var bd = CpuBackend.Data(b); var yd = CpuBackend.Data(y);
        int ao = a.Offset, bo = b.Offset, yo = y.Offset, n = y.Numel;
        if (n == 0) return;
        if (a.Numel == n && b.Numel == n)
        {
            Threading.ForStreaming(n, (s, e) => Simd.Zip<TOp>(ad.AsSpan(ao + s, e - s), bd.AsSpan(bo + s, e - s), yd.AsSpan(yo + s, e - s)));
            return;
        }
        if (b.Numel == 1 && a.Numel == n)
        {
            float s0 = bd[bo];
            Threading.ForStreaming(n, (s, e) => Simd.ZipScalarRight<TOp>(ad.AsSpan(ao + s, e - s), s0, yd.AsSpan(yo + s, e - s)));
            return;
        }
        if (a.Numel == 1 && b.Numel == n)
        {
            float s0 = ad[ao];
            Threading.ForStreaming(n, (s, e) => Simd.ZipScalarLeft<TOp>(s0, bd.AsSpan(bo + s, e - s), yd.AsSpan(yo + s, e - s)));
            return;
        }

        var (dims, sa, sb) = Collapse(a.Shape, b.Shape, y.Shape);
        int r = dims.Length, inner = dims[r - 1], ia = sa[r - 1], ib = sb[r - 1];
        int rows = n / inner;
        // Row offsets of a and b for each output row, by an odometer over the outer axes.
        var offA = new int[rows]; var offB = new int[rows];
        var idx = new int[r];
        int oa = 0, ob = 0;
        for (int row = 0; row < rows; row++)
        {
            offA[row] = oa; offB[row] = ob;
            for (int ax = r - 2; ax >= 0; ax--)
            {
                oa += sa[ax]; ob += sb[ax];
                if (++idx[ax] < dims[ax]) break;
                oa -= sa[ax] * dims[ax]; ob -= sb[ax] * dims[ax]; idx[ax] = 0;
            }
        }
        Threading.For(rows, (r0, r1) =>
        {
            for (int row = r0; row < r1; row++)
            {
                var ys = yd.AsSpan(yo + row * inner, inner);
                if (ia == 1 && ib == 1) Simd.Zip<TOp>(ad.AsSpan(ao + offA[row], inner), bd.AsSpan(bo + offB[row], inner), ys);
                else if (ia == 1) Simd.ZipScalarRight<TOp>(ad.AsSpan(ao + offA[row], inner), bd[bo + offB[row]], ys);
                else if (ib == 1) Simd.ZipScalarLeft<TOp>(ad[ao + offA[row]], bd.AsSpan(bo + offB[row], inner), ys);
                else ys.Fill(TOp.Invoke(ad[ao + offA[row]], bd[bo + offB[row]]));
            }
        }, grain: Math.Max(1, Threading.ParallelThreshold / inner));
    }

    /// <summary>Output dims and per-operand element strides (0 = broadcast) after merging adjacent axes
    /// that are contiguous in both operands. Always returns at least one axis.</summary>
    internal static (int[] Dims, int[] StrideA, int[] StrideB) Collapse(Shape a, Shape b, Shape y)
    {
        int r = y.Rank;
        var sa = Strides(a, r, y); var sb = Strides(b, r, y);
        var dims = new List<int>(); var la = new List<int>(); var lb = new List<int>();
        for (int i = 0; i < r; i++)
        {
            if (y[i] == 1) continue;
            int k = dims.Count - 1;
            // Merge axis i into the previous one if, for both operands, stepping the previous axis
            // once equals stepping axis i through its whole length.
            if (k >= 0 && la[k] == sa[i] * y[i] && lb[k] == sb[i] * y[i])
            {
                dims[k] *= y[i]; la[k] = sa[i]; lb[k] = sb[i];
            }
            else { dims.Add(y[i]); la.Add(sa[i]); lb.Add(sb[i]); }
        }
        if (dims.Count == 0) { dims.Add(1); la.Add(1); lb.Add(1); }
        return (dims.ToArray(), la.ToArray(), lb.ToArray());
    }

    static int[] Strides(Shape s, int r, Shape y)
    {
        var st = new int[r];
        int acc = 1;
        for (int i = r - 1; i >= 0; i--)
        {
            int j = i - (r - s.Rank);
            int d = j >= 0 ? s[j] : 1;
            st[i] = d == 1 && y[i] != 1 ? 0 : acc;
            acc *= d;
        }
        return st;
    }
}

/// <summary>(x, g) → g·gelu'(x); scalar in both overloads (GELU is not on a hot path here).</summary>
public readonly struct GeluBackwardOperator : IBinaryOperator
{
    public static float Invoke(float x, float g) => g * GeluMath.Derivative(x);
    public static System.Numerics.Vector<float> Invoke(System.Numerics.Vector<float> x, System.Numerics.Vector<float> g)
    {
        Span<float> t = stackalloc float[System.Numerics.Vector<float>.Count];
        for (int i = 0; i < t.Length; i++) t[i] = g[i] * GeluMath.Derivative(x[i]);
        return new System.Numerics.Vector<float>(t);
    }
}
