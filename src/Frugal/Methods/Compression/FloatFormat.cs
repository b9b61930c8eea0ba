using System.Text.RegularExpressions;
using Frugal.Backends;

namespace Frugal.Methods.Compression;

/// <summary>What the top exponent field of a <see cref="FloatFormat"/> holds.</summary>
public enum SpecialValues
{
    /// <summary>IEEE-like: the top exponent field is reserved, mantissa 0 = ±inf, else NaN (OCP E5M2, IEEE half).</summary>
    InfNaN,
    /// <summary>No infinity: the top field holds normal values except S.1…1.1…1, the only NaN (OCP E4M3 "fn").</summary>
    NaNOnly,
}

/// <summary>
/// A low-bit floating-point format [1, E, M] for neural gradients (METHODS.md §1, Chmiel et al., ICLR 2021):
/// sign, E exponent bits with bias 2^(E−1)−1, M mantissa bits, denormals kept. Codes are laid out
/// sign | exponent field | mantissa, the sign in bit n−1. 1 ≤ E ≤ 8, M ≥ 1, n = 1+E+M ≤ 16
/// (the gradient formats have n ≤ 8; E5M10 is IEEE half, E8M7 bfloat16).
/// </summary>
public sealed partial record FloatFormat
{
    public int ExponentBits { get; }
    public int MantissaBits { get; }
    public SpecialValues Specials { get; }

    public FloatFormat(int exponentBits, int mantissaBits, SpecialValues specials = SpecialValues.InfNaN)
    {
        FloatRounding.Validate("float format", exponentBits, mantissaBits, specials == SpecialValues.InfNaN);
        ExponentBits = exponentBits; MantissaBits = mantissaBits; Specials = specials;
    }

    /// <summary>OCP 8-bit E5M2 (IEEE-like; max 57344, smallest denormal 2^−16).</summary>
    public static FloatFormat E5M2 { get; } = new(5, 2);
    /// <summary>OCP 8-bit E4M3 without infinity (max 448, smallest denormal 2^−9).</summary>
    public static FloatFormat E4M3FN { get; } = new(4, 3, SpecialValues.NaNOnly);
    /// <summary>IEEE 754 binary16 (E5M10).</summary>
    public static FloatFormat Half { get; } = new(5, 10);

    /// <summary>n = 1 + E + M.</summary>
    public int Bits => 1 + ExponentBits + MantissaBits;
    public int Bias => (1 << (ExponentBits - 1)) - 1;
    /// <summary>1 − bias: the exponent of the smallest normal binade; denormals share its step 2^(emin−M).</summary>
    public int MinExponent => 1 - Bias;
    public bool HasInfinity => Specials == SpecialValues.InfNaN;

    /// <summary>The largest finite magnitude (for IEEE-like E = 1 every finite value is a denormal).</summary>
    public float MaxFinite => (float)FloatRounding.MaxFinite(ExponentBits, MantissaBits, HasInfinity);
    /// <summary>2^emin, where the constant denormal step gives way to the normal binades (for IEEE-like E = 1
    /// this exceeds <see cref="MaxFinite"/>: no normal value exists).</summary>
    public float MinNormal => MathF.ScaleB(1, MinExponent);
    /// <summary>2^(emin − M), the smallest denormal and the step of the whole denormal range.</summary>
    public float MinSubnormal => MathF.ScaleB(1, MinExponent - MantissaBits);

    /// <summary>"e5m2", "e4m3fn", "e5m10": the form <see cref="Parse"/> reads.</summary>
    public override string ToString() => $"e{ExponentBits}m{MantissaBits}{(HasInfinity ? "" : "fn")}";

    /// <summary>The value of <paramref name="code"/> (exact: every value of a supported format is a float32).</summary>
    public float Decode(int code)
    {
        if (code < 0 || code >= 1 << Bits)
            throw new ArgumentException($"{this}: code {code} is outside 0..{(1 << Bits) - 1}");
        int m = MantissaBits, top = (1 << ExponentBits) - 1, mantissaMask = (1 << m) - 1;
        int field = (code >> m) & top, mantissa = code & mantissaMask;
        bool negative = (code >> (Bits - 1)) != 0;
        if (field == top && (HasInfinity || mantissa == mantissaMask))
            return HasInfinity && mantissa == 0 ? (negative ? float.NegativeInfinity : float.PositiveInfinity) : float.NaN;
        double magnitude = field == 0
            ? mantissa * Math.ScaleB(1.0, MinExponent - m)
            : (1 + mantissa * Math.ScaleB(1.0, -m)) * Math.ScaleB(1.0, field - Bias);
        return (float)(negative ? -magnitude : magnitude);
    }

    /// <summary>The code of x rounded to nearest even, saturating at ±<see cref="MaxFinite"/>; NaN gives the
    /// positive canonical NaN (IEEE-like: top field with the quiet bit; NaN-only: all ones), ±inf gives ±inf
    /// (IEEE-like) or NaN (NaN-only). The rounding is the kernel's reference, <see cref="FloatRounding.Quantize"/>.</summary>
    public int Encode(float x)
    {
        int m = MantissaBits, top = (1 << ExponentBits) - 1, signBit = 1 << (Bits - 1);
        float q = FloatRounding.Quantize(x, new FloatRounding.Spec(ExponentBits, m, HasInfinity, 1, false, 0), 0);
        if (float.IsNaN(q)) return HasInfinity ? (top << m) | (1 << (m - 1)) : (top << m) | ((1 << m) - 1);
        int sign = float.IsNegative(q) ? signBit : 0;
        double magnitude = Math.Abs((double)q);
        if (double.IsInfinity(magnitude)) return sign | (top << m);
        if (magnitude < MinNormal) return sign | (int)(magnitude / MinSubnormal);
        int e = Math.ILogB(magnitude);
        return sign | ((e + Bias) << m) | (int)((Math.ScaleB(magnitude, -e) - 1) * (1 << m));
    }

    /// <summary>All finite non-negative values in increasing order (0, the denormals, the normals).</summary>
    public float[] NonNegativeValues()
    {
        var values = new List<float>();
        for (int code = 0; code < 1 << (Bits - 1); code++)
        {
            float v = Decode(code);
            if (float.IsFinite(v)) values.Add(v);
        }
        return values.ToArray();
    }

    /// <summary>
    /// Reads "eXmY" (IEEE-like, e.g. e5m2 = OCP E5M2, e3m2), "eXmYfn" (NaN-only, e.g. e4m3fn = OCP E4M3) and
    /// "e5m10" (IEEE half), case-insensitive. Per-layer formats ("fpN") are <see cref="GradientFormatSpec"/>.
    /// </summary>
    public static FloatFormat Parse(string text)
    {
        var match = FormatPattern().Match(text?.Trim() ?? "");
        if (!match.Success) throw GradientFormatSpec.BadValue(text);
        int e = int.Parse(match.Groups[1].Value), m = int.Parse(match.Groups[2].Value);
        var specials = match.Groups[3].Success ? SpecialValues.NaNOnly : SpecialValues.InfNaN;
        try { return new FloatFormat(e, m, specials); }
        catch (ArgumentException ex) { throw GradientFormatSpec.BadValue(text, ex.Message); }
    }

    [GeneratedRegex(@"^e(\d{1,2})m(\d{1,2})(fn)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex FormatPattern();
}
