// CRC-32C (Castagnoli), the checksum TFRecord framing uses; System.IO.Hashing.Crc32 is the IEEE polynomial,
// so it does not fit. Reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF;
// check value crc32c("123456789") = 0xE3069283.
namespace Frugal.Training;

public static class Crc32C
{
    const uint Polynomial = 0x82F63B78;
    static readonly uint[] Table = BuildTable();

    static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? (c >> 1) ^ Polynomial : c >> 1;
            t[i] = c;
        }
        return t;
    }

    /// <summary>The CRC-32C of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a CRC-32C: Append(Compute(a), b) == Compute(a ++ b).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = ~crc;
        foreach (var b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        return ~c;
    }

    /// <summary>
    /// TFRecord's masked CRC: rotate right by 15 and add a constant, because a CRC computed over data
    /// that itself contains CRCs is weak (TensorFlow's crc32c.h).
    /// </summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + 0xa282ead8u;

    public static uint Unmask(uint masked)
    {
        uint rot = masked - 0xa282ead8u;
        return (rot >> 17) | (rot << 15);
    }
}
