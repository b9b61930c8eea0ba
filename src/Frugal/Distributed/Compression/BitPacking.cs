namespace Frugal.Distributed.Compression;

/// <summary>
/// Dense packing of n-bit codes (1 ≤ n ≤ 16) into bytes, least significant bit first: code i occupies bits
/// [i·n, (i+1)·n) of the stream, so 6-bit codes take 4 values per 3 bytes and 4-bit codes 2 per byte.
/// A stream of c codes takes ⌈c·n/8⌉ bytes (<see cref="Bytes"/>).
/// </summary>
internal static class BitPacking
{
    public static int Bytes(int count, int bits) => checked((int)(((long)count * bits + 7) / 8));
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

/// <summary>Reads back what <see cref="BitWriter"/> wrote, code by code.</summary>
internal ref struct BitReader
{
    readonly ReadOnlySpan<byte> _from;
    readonly int _bits;
    readonly uint _mask;
    ulong _pending;
    int _pendingBits, _position;

    public BitReader(ReadOnlySpan<byte> from, int bits) { _from = from; _bits = bits; _mask = (1u << bits) - 1; }

    public uint Read()
    {
        while (_pendingBits < _bits)
        {
            _pending |= (ulong)_from[_position++] << _pendingBits;
            _pendingBits += 8;
        }
        uint code = (uint)_pending & _mask;
        _pending >>= _bits;
        _pendingBits -= _bits;
        return code;
    }
}
