using System.Buffers.Binary;
using System.Numerics.Tensors;
using Frugal.Backends;
using Frugal.Methods.Compression;
using Frugal.Ops;

namespace Frugal.Distributed.Compression;

/// <summary>
/// Low-bit floating-point codes for a range of a bucket (the [1, E, M] formats of METHODS.md §1), packed densely
/// (<see cref="BitPacking"/>), with one power-of-two scale per piece: a piece is the part of one parameter (segment)
/// inside the range, so a layer with small gradients is not flushed to zero by a neighbour's large ones. Layout: the P
/// pieces' scales as little-endian fp32, then the P pieces' codes in one bit stream: 4·P + ⌈L·n/8⌉ bytes.
/// </summary>
/// <remarks>
/// Scale: 2^k with k the largest integer for which the piece's largest magnitude a times 2^k is at most the format's
/// largest finite value, so a·2^k lies in (max/2, max]. METHODS.md's neural-gradient rule (2^(−μ̄₂−3) from the layer's
/// mean log2|g|) centres the bulk and accepts clipping the tail; here the values are summed over N ranks and the tail
/// carries most of the sum's energy, so nothing may clip: with the max mapped near the top no value saturates (which
/// also keeps stochastic rounding unbiased, since clipping is a bias), the largest values keep the full M-bit relative
/// precision, and what is lost lies below the format's dynamic range under the max (e4m3: 2^−17 of it). The max is one
/// vectorised pass, the mean log2 one logarithm per value. A power of two makes scaling and unscaling exact. k is
/// clamped to ±126 so that 2^k and 2^−k are normal floats (only pieces beyond 2^±100 are affected).
/// Error of one encoding, nearest rounding: |Q(x) − x| ≤ max(|x|·2^−(M+1), 2^(emin−M−1−k)) with 2^−k &lt; 2a/max;
/// stochastic rounding doubles the bound and is unbiased.
/// </remarks>
internal sealed class LowBitCodec : IChunkCodec
{
    readonly FloatFormat _format;
    readonly int[] _cuts;           // segment boundaries strictly inside the bucket, ascending
    readonly float[] _values;       // the value of every code
    readonly LowBitEncoder _encoder;
    readonly int _bits, _maxExponent;

    /// <summary>Values encoded per block, through a stack buffer of codes.</summary>
    const int Block = 1024;

    public LowBitCodec(FloatFormat format, Rounding rounding, GradientBucket bucket)
    {
        _format = format;
        int length = bucket.Values.Length;
        _cuts = bucket.Segments.Select(s => s.Offset).Where(o => o > 0 && o < length).Distinct().Order().ToArray();
        _encoder = new LowBitEncoder(format, rounding == Rounding.Stochastic);
        _bits = format.Bits;
        _maxExponent = MathF.ILogB(format.MaxFinite);
        _values = new float[1 << _bits];
        for (int c = 0; c < _values.Length; c++) _values[c] = format.Decode(c);
    }

    public FloatFormat Format => _format;

    public int EncodedBytes(int start, int length) => length == 0 ? 0 : 4 * Pieces(start, length) + BitPacking.Bytes(length, _bits);

    public void Encode(ReadOnlySpan<float> values, int start, Span<byte> code, ulong seed)
    {
        if (values.IsEmpty) return;
        int end = start + values.Length;
        uint key = CounterRandom.Key(seed);
        var stream = code[(4 * Pieces(start, values.Length))..];
        var writer = new BitWriter(stream, _bits);
        Span<uint> codes = stackalloc uint[Block];
        for (int a = start, p = 0; a < end; p++)
        {
            int b = NextCut(a, end);
            var piece = values.Slice(a - start, b - a);
            float scale = MathF.ScaleB(1, ScaleExponent(piece));
            BinaryPrimitives.WriteSingleLittleEndian(code.Slice(4 * p, 4), scale);
            for (int i = 0; i < piece.Length; i += Block)
            {
                var block = codes[..Math.Min(Block, piece.Length - i)];
                _encoder.Codes(piece.Slice(i, block.Length), scale, key, (uint)(a + i), block);
                if (_bits == 8)
                {
                    var bytes = stream.Slice(a - start + i, block.Length);
                    for (int j = 0; j < block.Length; j++) bytes[j] = (byte)block[j];
                }
                else foreach (uint c in block) writer.Write(c);
            }
            a = b;
        }
        writer.Flush();
    }

    public void Decode(ReadOnlySpan<byte> code, int start, Span<float> values)
    {
        if (values.IsEmpty) return;
        int end = start + values.Length;
        var stream = code[(4 * Pieces(start, values.Length))..];
        var table = _values;
        for (int a = start, p = 0; a < end; p++)
        {
            int b = NextCut(a, end);
            float unscale = 1 / BinaryPrimitives.ReadSingleLittleEndian(code.Slice(4 * p, 4));
            var piece = values.Slice(a - start, b - a);
            long bit = (long)(a - start) * _bits;
            if (_bits == 8)
            {
                var bytes = stream.Slice(a - start, piece.Length);
                for (int i = 0; i < piece.Length; i++) piece[i] = table[bytes[i]];
            }
            else
                for (int i = 0; i < piece.Length; i++, bit += _bits) piece[i] = table[BitPacking.Read(stream, bit, _bits)];
            TensorPrimitives.Multiply(piece, unscale, piece);
            a = b;
        }
    }

    /// <summary>k of the scale 2^k (see the remarks); 0 for a piece of zeros or with a non-finite value.</summary>
    int ScaleExponent(ReadOnlySpan<float> piece)
    {
        float largest = MathF.Abs(TensorPrimitives.MaxMagnitude(piece));
        if (!(largest > 0) || !float.IsFinite(largest)) return 0;
        int k = _maxExponent - MathF.ILogB(largest);
        if (MathF.ScaleB(largest, k) > _format.MaxFinite) k--;
        return Math.Clamp(k, -126, 126);
    }

    int Pieces(int start, int length)
    {
        int pieces = 1;
        for (int a = NextCut(start, start + length); a < start + length; a = NextCut(a, start + length)) pieces++;
        return pieces;
    }

    /// <summary>The first segment boundary after <paramref name="position"/>, or <paramref name="end"/> if none comes before it.</summary>
    int NextCut(int position, int end)
    {
        int i = Array.BinarySearch(_cuts, position + 1);
        if (i < 0) i = ~i;
        return i < _cuts.Length && _cuts[i] < end ? _cuts[i] : end;
    }
}
