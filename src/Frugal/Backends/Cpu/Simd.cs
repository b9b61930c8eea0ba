using System.Numerics;
using System.Runtime.InteropServices;

namespace Frugal.Backends.Cpu;

/// <summary>Generic SIMD drivers for the operator structs: full vectors, then the scalar reference for the tail.
/// The vector loops load and store through references (the lengths are checked once, up front): slicing a span per
/// vector costs a bounds check and a span construction each time, which made a ReLU of 128×1024 floats take ~1.5×
/// as long.</summary>
public static class Simd
{
    public static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y, float a = 0, float b = 0) where TOp : IUnaryOperator
    {
        if (x.Length != y.Length) throw new ArgumentException($"map: input has {x.Length} elements, output {y.Length}");
        ref float rx = ref MemoryMarshal.GetReference(x), ry = ref MemoryMarshal.GetReference(y);
        int i = 0, w = Vector<float>.Count;
        var va = new Vector<float>(a); var vb = new Vector<float>(b);
        for (; i <= x.Length - w; i += w)
            TOp.Invoke(Vector.LoadUnsafe(ref rx, (nuint)i), va, vb).StoreUnsafe(ref ry, (nuint)i);
        for (; i < x.Length; i++) y[i] = TOp.Invoke(x[i], a, b);
    }

    public static void Zip<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> z, Span<float> y) where TOp : IBinaryOperator
    {
        if (x.Length != y.Length || z.Length != y.Length)
            throw new ArgumentException($"zip: lengths {x.Length}, {z.Length} → {y.Length} differ");
        ref float rx = ref MemoryMarshal.GetReference(x), rz = ref MemoryMarshal.GetReference(z), ry = ref MemoryMarshal.GetReference(y);
        int i = 0, w = Vector<float>.Count;
        for (; i <= y.Length - w; i += w)
            TOp.Invoke(Vector.LoadUnsafe(ref rx, (nuint)i), Vector.LoadUnsafe(ref rz, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        for (; i < y.Length; i++) y[i] = TOp.Invoke(x[i], z[i]);
    }

    /// <summary>y[i] = op(x[i], s)</summary>
    public static void ZipScalarRight<TOp>(ReadOnlySpan<float> x, float s, Span<float> y) where TOp : IBinaryOperator
    {
        if (x.Length != y.Length) throw new ArgumentException($"zip: input has {x.Length} elements, output {y.Length}");
        ref float rx = ref MemoryMarshal.GetReference(x), ry = ref MemoryMarshal.GetReference(y);
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(s);
        for (; i <= y.Length - w; i += w) TOp.Invoke(Vector.LoadUnsafe(ref rx, (nuint)i), vs).StoreUnsafe(ref ry, (nuint)i);
        for (; i < y.Length; i++) y[i] = TOp.Invoke(x[i], s);
    }

    /// <summary>y[i] = op(s, z[i])</summary>
    public static void ZipScalarLeft<TOp>(float s, ReadOnlySpan<float> z, Span<float> y) where TOp : IBinaryOperator
    {
        if (z.Length != y.Length) throw new ArgumentException($"zip: input has {z.Length} elements, output {y.Length}");
        ref float rz = ref MemoryMarshal.GetReference(z), ry = ref MemoryMarshal.GetReference(y);
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(s);
        for (; i <= y.Length - w; i += w) TOp.Invoke(vs, Vector.LoadUnsafe(ref rz, (nuint)i)).StoreUnsafe(ref ry, (nuint)i);
        for (; i < y.Length; i++) y[i] = TOp.Invoke(s, z[i]);
    }
}
