using System.Buffers;
using System.Buffers.Binary;

namespace Frugal.Methods.Entropy;

/// <summary>The bytes of one coded block: the header and frequency table, and the coded stream with the raw escapes.</summary>
public readonly record struct RansSize(int TableBytes, int PayloadBytes)
{
    public int TotalBytes => TableBytes + PayloadBytes;
}

/// <summary>
/// A static-model range asymmetric numeral system coder (rANS; Duda 2013, arXiv 1311.2540; the byte-wise variant with a
/// 32-bit state in [L, 256·L), L = 2²³): integer symbols in, bytes out, decoded back exactly. The model is the block's
/// own histogram (<see cref="RansModel"/>, frequencies quantised to M = 2^scale_bits), stored in the block, so a block
/// decodes on its own and its size counts everything: n·H(q) bits of stream (plus the frequency quantisation's small
/// loss and 4 bytes of final state) and the table. Encoding state x for a symbol of frequency f and start c:
/// x ← ⌊x/f⌋·M + (x mod f) + c, after shifting out bytes while x ≥ 2^(31 − scale_bits)·f; decoding inverts it from the
/// slot x mod M. Symbols outside the table (seen once, or beyond the most frequent max_symbols) are coded as an escape
/// entry and travel as zigzag varints after the stream, so any 32-bit alphabet round-trips.
/// </summary>
/// <remarks>Block layout: varint n; if n &gt; 0: scale_bits (1 byte), the model, varint stream length, the stream
/// (empty when one entry holds all of M), the escaped values.</remarks>
public static class Rans
{
    /// <summary>M = 2^14: a symbol of share p costs log₂(1/p) bits up to a quantisation of 1/16384.</summary>
    public const int DefaultScaleBits = 14;
    /// <summary>Table entries at most (a b-bit quantiser has 2^b + 1 levels; 8 bits: 257).</summary>
    public const int DefaultMaxSymbols = 1024;
    public const int MinScaleBits = 8, MaxScaleBits = 16;

    const uint Lower = 1u << 23;

    /// <summary>Appends the coded block of <paramref name="symbols"/> to <paramref name="output"/>.</summary>
    /// <param name="symbols">Any 32-bit integers.</param>
    /// <param name="output">Receives the block.</param>
    /// <param name="scaleBits">log₂ of the frequency total M, 8 to 16.</param>
    /// <param name="maxSymbols">Table entries at most, 1 to M/2; the less frequent symbols are escaped.</param>
    public static RansSize Encode(ReadOnlySpan<int> symbols, IBufferWriter<byte> output, int scaleBits = DefaultScaleBits,
                                  int maxSymbols = DefaultMaxSymbols)
    {
        CheckSettings(scaleBits, maxSymbols);
        var counting = new CountingWriter(output);
        Leb128.Write(counting, (ulong)symbols.Length);
        if (symbols.IsEmpty) return new RansSize(counting.Written, 0);
        counting.GetSpan(1)[0] = (byte)scaleBits;
        counting.Advance(1);
        var histogram = new SymbolHistogram(symbols);
        var model = RansModel.Build(histogram, scaleBits, maxSymbols, out var entryOf);
        model.Write(counting);
        int table = counting.Written;

        var escapes = new List<int>();
        byte[] stream = ArrayPool<byte>.Shared.Rent(2 * symbols.Length + 8);
        try
        {
            int start = stream.Length;
            if (!model.IsTrivial)
            {
                var f = model.Frequencies;
                var c = model.Starts;
                uint x = Lower;
                for (int i = symbols.Length - 1; i >= 0; i--)
                {
                    int e = entryOf[histogram.IndexOf(symbols[i])];
                    uint freq = (uint)f[e], max = ((Lower >> scaleBits) << 8) * freq;
                    while (x >= max) { stream[--start] = (byte)x; x >>= 8; }
                    x = ((x / freq) << scaleBits) + x % freq + (uint)c[e];
                }
                start -= 4;
                BinaryPrimitives.WriteUInt32LittleEndian(stream.AsSpan(start, 4), x);
            }
            // Escapes in forward order: the decoder meets them in that order.
            if (model.Frequencies[model.Escape] > 0)
                foreach (int s in symbols) if (entryOf[histogram.IndexOf(s)] == model.Escape) escapes.Add(s);
            Leb128.Write(counting, (ulong)(stream.Length - start));
            stream.AsSpan(start).CopyTo(counting.GetSpan(stream.Length - start));
            counting.Advance(stream.Length - start);
        }
        finally { ArrayPool<byte>.Shared.Return(stream); }
        foreach (int s in escapes) Leb128.WriteSigned(counting, s);
        return new RansSize(table, counting.Written - table);
    }

    /// <summary>The coded block of <paramref name="symbols"/> as an array.</summary>
    public static byte[] Encode(ReadOnlySpan<int> symbols, int scaleBits = DefaultScaleBits, int maxSymbols = DefaultMaxSymbols)
    {
        var output = new ArrayBufferWriter<byte>();
        Encode(symbols, output, scaleBits, maxSymbols);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The number of symbols in the block that starts <paramref name="data"/>.</summary>
    public static int Count(ReadOnlySpan<byte> data)
    {
        int position = 0;
        return Leb128.ReadCount(data, ref position, int.MaxValue, "symbol count");
    }

    /// <summary>Decodes the block that starts <paramref name="data"/> into <paramref name="symbols"/>, whose length must
    /// be its <see cref="Count"/>; returns the bytes it took. Damaged data throws <see cref="InvalidDataException"/>.</summary>
    public static int Decode(ReadOnlySpan<byte> data, Span<int> symbols)
    {
        int position = 0;
        int n = Leb128.ReadCount(data, ref position, int.MaxValue, "symbol count");
        if (n != symbols.Length) throw new ArgumentException($"rans: the block holds {n} symbols, the output has room for {symbols.Length}");
        if (n == 0) return position;
        if (position >= data.Length) throw new InvalidDataException("rans: the data ends before the model");
        int scaleBits = data[position++];
        if (scaleBits is < MinScaleBits or > MaxScaleBits) throw new InvalidDataException($"rans: scale bits {scaleBits} outside {MinScaleBits}..{MaxScaleBits}");
        var model = RansModel.Read(data, ref position, scaleBits);
        int length = Leb128.ReadCount(data, ref position, data.Length - position, "stream length");
        var stream = data.Slice(position, length);
        int escapes = position + length;
        int escape = model.Escape;
        if (model.IsTrivial)
        {
            int only = Array.FindIndex(model.Frequencies, f => f > 0);
            for (int i = 0; i < n; i++) symbols[i] = only == escape ? Escaped(data, ref escapes) : model.Symbols[only];
            return escapes;
        }
        if (length < 4) throw new InvalidDataException("rans: the stream is shorter than its state");
        var entries = new int[1 << scaleBits];
        for (int e = 0; e < model.Frequencies.Length; e++) entries.AsSpan(model.Starts[e], model.Frequencies[e]).Fill(e);
        var f = model.Frequencies;
        var c = model.Starts;
        uint mask = (1u << scaleBits) - 1, x = BinaryPrimitives.ReadUInt32LittleEndian(stream);
        int p = 4;
        for (int i = 0; i < n; i++)
        {
            uint slot = x & mask;
            int e = entries[slot];
            symbols[i] = e == escape ? Escaped(data, ref escapes) : model.Symbols[e];
            x = (uint)f[e] * (x >> scaleBits) + slot - (uint)c[e];
            while (x < Lower)
            {
                if (p >= stream.Length) throw new InvalidDataException("rans: the stream ends early");
                x = (x << 8) | stream[p++];
            }
        }
        if (p != stream.Length || x != Lower) throw new InvalidDataException("rans: the stream does not end where its symbols do");
        return escapes;
    }

    static int Escaped(ReadOnlySpan<byte> data, ref int position)
    {
        long v = Leb128.ReadSigned(data, ref position);
        if (v < int.MinValue || v > int.MaxValue) throw new InvalidDataException($"rans: escaped symbol {v} is not a 32-bit integer");
        return (int)v;
    }

    static void CheckSettings(int scaleBits, int maxSymbols)
    {
        if (scaleBits is < MinScaleBits or > MaxScaleBits) throw new ArgumentOutOfRangeException(nameof(scaleBits), $"rans: scale bits must be in {MinScaleBits}..{MaxScaleBits}, got {scaleBits}");
        if (maxSymbols < 1 || maxSymbols > (1 << scaleBits) / 2)
            throw new ArgumentOutOfRangeException(nameof(maxSymbols), $"rans: max symbols must be in 1..{(1 << scaleBits) / 2} (half of 2^{scaleBits}), got {maxSymbols}");
    }

    /// <summary>Counts what passes to the caller's writer, so sizes hold however much it already held.</summary>
    sealed class CountingWriter(IBufferWriter<byte> inner) : IBufferWriter<byte>
    {
        public int Written { get; private set; }
        public void Advance(int count) { inner.Advance(count); Written += count; }
        public Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);
        public Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);
    }
}
