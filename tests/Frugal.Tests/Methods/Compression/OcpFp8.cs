namespace Frugal.Tests.Methods.Compression;

/// <summary>
/// Decoders written from the OCP 8-bit floating point specification (v1.0, 2023), independently of
/// FloatFormat: E4M3 = S.EEEE.MMM, bias 7, no infinity, S.1111.111 NaN, max 448 (S.1111.110);
/// E5M2 = S.EEEEE.MM, bias 15, IEEE specials (S.11111.00 = ±inf, S.11111.{01,10,11} = NaN), max 57344.
/// Exponent field 0 is subnormal: 2^(1−bias)·(M/2^m).
/// </summary>
static class OcpFp8
{
    public static double E4M3(int code)
    {
        int s = code >> 7, e = (code >> 3) & 0xF, m = code & 0x7;
        if (e == 0xF && m == 0x7) return double.NaN;
        double v = e == 0 ? Math.Pow(2, -6) * (m / 8.0) : Math.Pow(2, e - 7) * (1 + m / 8.0);
        return s == 1 ? -v : v;
    }

    public static double E5M2(int code)
    {
        int s = code >> 7, e = (code >> 2) & 0x1F, m = code & 0x3;
        if (e == 0x1F) return m == 0 ? (s == 1 ? double.NegativeInfinity : double.PositiveInfinity) : double.NaN;
        double v = e == 0 ? Math.Pow(2, -14) * (m / 4.0) : Math.Pow(2, e - 15) * (1 + m / 4.0);
        return s == 1 ? -v : v;
    }
}
