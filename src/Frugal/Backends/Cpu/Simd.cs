using System.Numerics;

namespace Frugal.Backends.Cpu;

/// <summary>Generic SIMD drivers for the operator structs: full vectors, then the scalar reference for the tail.</summary>
public static class Simd
{
    public static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y, float a = 0, float b = 0) where TOp : IUnaryOperator
    {
        if (x.Length != y.Length) throw new ArgumentException($"map: input has {x.Length} elements, output {y.Length}");
        int i = 0, w = Vector<float>.Count;
        var va = new Vector<float>(a); var vb = new Vector<float>(b);
        for (; i <= x.Length - w; i += w)
            TOp.Invoke(new Vector<float>(x[i..]), va, vb).CopyTo(y[i..]);
        for (; i < x.Length; i++) y[i] = TOp.Invoke(x[i], a, b);
    }

    public static void Zip<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> z, Span<float> y) where TOp : IBinaryOperator
    {
        if (x.Length != y.Length || z.Length != y.Length)
            throw new ArgumentException($"zip: lengths {x.Length}, {z.Length} → {y.Length} differ");
        int i = 0, w = Vector<float>.Count;
        for (; i <= y.Length - w; i += w)
            TOp.Invoke(new Vector<float>(x[i..]), new Vector<float>(z[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] = TOp.Invoke(x[i], z[i]);
    }

    /// <summary>y[i] = op(x[i], s)</summary>
    public static void ZipScalarRight<TOp>(ReadOnlySpan<float> x, float s, Span<float> y) where TOp : IBinaryOperator
    {
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(s);
        for (; i <= y.Length - w; i += w) TOp.Invoke(new Vector<float>(x[i..]), vs).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] = TOp.Invoke(x[i], s);
    }

    /// <summary>y[i] = op(s, z[i])</summary>
    public static void ZipScalarLeft<TOp>(float s, ReadOnlySpan<float> z, Span<float> y) where TOp : IBinaryOperator
    {
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(s);
        for (; i <= y.Length - w; i += w) TOp.Invoke(vs, new Vector<float>(z[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] = TOp.Invoke(s, z[i]);
    }
}
