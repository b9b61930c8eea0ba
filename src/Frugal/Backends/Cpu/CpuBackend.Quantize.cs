using System.Numerics;
using System.Runtime.InteropServices;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Low-bit floating-point quantisation (METHODS.md §1): a Vector&lt;float&gt; body that performs the steps of
/// <see cref="FloatRounding.Quantize"/> in float32 lanes (exact there for E ≤ 7, where every power of two the
/// algorithm forms is a normal float32), the scalar reference for the tail and for E = 8.
/// </summary>
public sealed partial class CpuBackend
{
    public void QuantizeFloat(Tensor x, Tensor y, int exponentBits, int mantissaBits, bool infNaN, float scale, bool stochastic, ulong seed)
    {
        CheckQuantize(x, y);
        var spec = new FloatRounding.Spec(exponentBits, mantissaBits, infNaN, scale, stochastic, seed);
        bool vector = exponentBits < FloatRounding.MaxExponentBits && Vector.IsHardwareAccelerated;
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        Threading.For(x.Numel, (s, e) =>
        {
            ReadOnlySpan<float> xs = xd.AsSpan(xo + s, e - s);
            Span<float> ys = yd.AsSpan(yo + s, e - s);
            int done = vector ? QuantizeVectors(xs, ys, (uint)s, spec) : 0;
            for (int i = done; i < xs.Length; i++) ys[i] = FloatRounding.Quantize(xs[i], spec, (uint)(s + i));
        });
    }

    /// <summary>The shape check of <see cref="IBackend.QuantizeFloat"/>, shared with the other backends (the format and
    /// scale are checked by <see cref="FloatRounding.Spec"/>).</summary>
    internal static void CheckQuantize(Tensor x, Tensor y)
    {
        if (x.Numel != y.Numel)
            throw new ArgumentException($"quantize_float: input has shape {x.Shape}, output {y.Shape}");
    }

    /// <summary>The full vectors of a range; returns how many elements it did. x and y may be the same memory.</summary>
    internal static int QuantizeVectors(ReadOnlySpan<float> x, Span<float> y, uint firstIndex, in FloatRounding.Spec s)
    {
        int n = x.Length, w = Vector<float>.Count, i = 0;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        var scale = new Vector<float>(s.Scale);
        var maxFinite = new Vector<float>(s.MaxFinite);
        var minBiased = new Vector<int>(s.MinBiased);
        var maxBiased = new Vector<int>(254);
        var mantissa = new Vector<int>(s.MantissaBits);
        var signMask = new Vector<uint>(0x8000_0000u);
        var absMask = new Vector<uint>(0x7FFF_FFFFu);
        var infBits = new Vector<int>(0x7F80_0000);
        var special = s.InfNaN ? default : new Vector<float>(float.NaN);
        var key = new Vector<uint>(s.Key);
        var twoTo24 = new Vector<float>(16777216f);
        for (; i <= n - w; i += w)
        {
            var xv = Vector.LoadUnsafe(ref rx, (nuint)i);
            var v = xv * scale;
            var bits = Vector.AsVectorUInt32(v);
            var a = bits & absMask;
            var biased = Vector.Min(Vector.Max(Vector.AsVectorInt32(Vector.ShiftRightLogical(a, 23)), minBiased), maxBiased) - mantissa;
            var quantum = Vector.AsVectorSingle(Vector.ShiftLeft(biased, 23));              // 2^qe
            var inverse = Vector.AsVectorSingle(Vector.ShiftLeft(maxBiased - biased, 23));  // 2^−qe
            var t = Vector.AsVectorSingle(a) * inverse;
            Vector<float> k;
            if (s.Stochastic)
            {
                var floor = Vector.Floor(t);
                var index = new Vector<uint>(firstIndex + (uint)i) + Vector<uint>.Indices;
                var u = Vector.ConvertToSingle(Vector.AsVectorInt32(CounterRandom.Bits24(key, index)));
                k = floor + Vector.ConditionalSelect(Vector.LessThan(u, (t - floor) * twoTo24), Vector<float>.One, Vector<float>.Zero);
            }
            else k = Vector.Round(t);
            var r = Vector.Min(k * quantum, maxFinite);
            var q = Vector.AsVectorSingle(Vector.AsVectorUInt32(r) | (bits & signMask)) / scale;
            var finite = Vector.LessThan(Vector.AsVectorInt32(Vector.AsVectorUInt32(xv) & absMask), infBits);
            var result = Vector.ConditionalSelect(finite, q, s.InfNaN ? xv : special);
            result.StoreUnsafe(ref ry, (nuint)i);
        }
        return i;
    }
}
