using System.Buffers;

namespace Frugal.Methods.Entropy;

/// <summary>Bits per value of a quantised tensor: the empirical entropy H(q) (an ideal coder's) and what
/// <see cref="Rans"/> actually takes, table included.</summary>
public readonly record struct SymbolBits(double EntropyBits, double CodedBits);

/// <summary>
/// How many bits values take once quantised (../shared/METHODS.md §4.1): with a fixed step (unclipped), or with the
/// RMS-relative step s = 3·RMS/2^(b−1) (clipped at ±2^(b−1)), each as H(q) and as rANS-coded bits per value.
/// </summary>
public static class QuantizedEntropy
{
    /// <summary>q = round(x/step), not clipped.</summary>
    public static SymbolBits Fixed(ReadOnlySpan<float> x, double step) => Of(x, step, int.MaxValue);

    /// <summary>q = clip(round(x/s), ±2^(b−1)), s = 3·RMS(x)/2^(b−1).</summary>
    public static SymbolBits RmsRelative(ReadOnlySpan<float> x, int bits) =>
        Of(x, SymbolQuantizer.RmsStep(SymbolQuantizer.Rms(x), bits), SymbolQuantizer.Limit(bits));

    static SymbolBits Of(ReadOnlySpan<float> x, double step, int limit)
    {
        var q = ArrayPool<int>.Shared.Rent(x.Length);
        try
        {
            SymbolQuantizer.Quantize(x, step, limit, q.AsSpan(0, x.Length));
            return Of(q.AsSpan(0, x.Length));
        }
        finally { ArrayPool<int>.Shared.Return(q); }
    }

    /// <summary>H(q) and the rANS-coded bits of <paramref name="q"/>, per symbol (0 for none).</summary>
    public static SymbolBits Of(ReadOnlySpan<int> q)
    {
        if (q.IsEmpty) return new SymbolBits(0, 0);
        var output = new ArrayBufferWriter<byte>();
        var size = Rans.Encode(q, output);
        return new SymbolBits(EmpiricalEntropy.Bits(q), 8.0 * size.TotalBytes / q.Length);
    }
}
