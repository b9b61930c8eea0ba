using System.Buffers;

namespace Frugal.Methods.Entropy;

/// <summary>LEB128 varints (7 bits a byte, low first; signed values zigzag-mapped) for the coder's headers and escapes.</summary>
internal static class Leb128
{
    public static void Write(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        int k = 0;
        while (value >= 0x80) { span[k++] = (byte)(value | 0x80); value >>= 7; }
        span[k++] = (byte)value;
        output.Advance(k);
    }

    public static void WriteSigned(IBufferWriter<byte> output, long value) => Write(output, (ulong)((value << 1) ^ (value >> 63)));

    public static ulong Read(ReadOnlySpan<byte> data, ref int position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length) throw new InvalidDataException("rans: the data ends inside a number");
            byte b = data[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("rans: a number is longer than 64 bits");
    }

    public static long ReadSigned(ReadOnlySpan<byte> data, ref int position)
    {
        ulong v = Read(data, ref position);
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    /// <summary>A count or length that must fit in [0, <paramref name="max"/>].</summary>
    public static int ReadCount(ReadOnlySpan<byte> data, ref int position, long max, string what)
    {
        ulong v = Read(data, ref position);
        if (v > (ulong)max) throw new InvalidDataException($"rans: {what} {v} exceeds {max}");
        return (int)v;
    }
}
