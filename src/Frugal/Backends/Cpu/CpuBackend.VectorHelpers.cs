using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

// Vector helpers shared by the normalisation, softmax and loss kernels.
public sealed partial class CpuBackend
{
    // ---- vector helpers ----------------------------------------------------------------------

    /// <summary>
    /// Copies a short row (an image row of a convolution: 7–28 floats, ~10⁵ of them per layer and step) with
    /// overlapping vector moves, the last one ending at the row's end, instead of a memmove call, whose fixed cost
    /// dominated at this length. src and dst must not overlap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void CopyRow(ReadOnlySpan<float> src, Span<float> dst)
    {
        int n = src.Length;
        if (n < 4 || dst.Length < n) { src.CopyTo(dst); return; }
        ref float s = ref MemoryMarshal.GetReference(src);
        ref float d = ref MemoryMarshal.GetReference(dst);
        if (n < 8)
        {
            Vector128.LoadUnsafe(ref s).StoreUnsafe(ref d);
            Vector128.LoadUnsafe(ref s, (nuint)(n - 4)).StoreUnsafe(ref d, (nuint)(n - 4));
            return;
        }
        for (int i = 0; i < n - 8; i += 8) Vector256.LoadUnsafe(ref s, (nuint)i).StoreUnsafe(ref d, (nuint)i);
        Vector256.LoadUnsafe(ref s, (nuint)(n - 8)).StoreUnsafe(ref d, (nuint)(n - 8));
    }

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
