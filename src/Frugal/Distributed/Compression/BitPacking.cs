using System.Buffers.Binary;

namespace Frugal.Distributed.Compression;

/// <summary>
/// Dense packing of n-bit codes (1 ≤ n ≤ 16) into bytes, least significant bit first: code i occupies bits
/// [i·n, (i+1)·n) of the stream, so 6-bit codes take 4 values per 3 bytes and 4-bit codes 2 per byte.
/// A stream of c codes takes ⌈c·n/8⌉ bytes (<see cref="Bytes"/>); <see cref="BitWriter"/> writes it, <see cref="Read"/>
/// reads any code of it directly.
/// </summary>
internal static class BitPacking
{
    public static int Bytes(int count, int bits) => checked((int)(((long)count * bits + 7) / 8));

    /// <summary>The n-bit code that starts at bit <paramref name="bit"/> of <paramref name="stream"/>: one unaligned
    /// 32-bit read (a code spans at most 7 + 16 bits), byte by byte only at the stream's end.</summary>
    public static uint Read(ReadOnlySpan<byte> stream, long bit, int bits)
    {
        int at = (int)(bit >> 3);
        uint word;
        if (at + 4 <= stream.Length) word = BinaryPrimitives.ReadUInt32LittleEndian(stream[at..]);
        else
        {
            word = 0;
            for (int k = 0; at + k < stream.Length; k++) word |= (uint)stream[at + k] << (8 * k);
        }
        return (word >> (int)(bit & 7)) & ((1u << bits) - 1);
    }
}

/// <summary>Appends n-bit codes to a byte span (<see cref="BitPacking"/>'s layout); <see cref="Flush"/> writes the last partial byte.</summary>
internal ref struct BitWriter
{
    readonly Span<byte> _into;
    readonly int _bits;
    ulong _pending;
    int _pendingBits, _position;

    public BitWriter(Span<byte> into, int bits) { _into = into; _bits = bits; }

    public void Write(uint code)
    {
        _pending |= (ulong)code << _pendingBits;
        _pendingBits += _bits;
        while (_pendingBits >= 8)
        {
            _into[_position++] = (byte)_pending;
            _pending >>= 8;
            _pendingBits -= 8;
        }
    }

    public void Flush()
    {
        if (_pendingBits > 0) _into[_position++] = (byte)_pending;
        _pending = 0; _pendingBits = 0;
    }
}
