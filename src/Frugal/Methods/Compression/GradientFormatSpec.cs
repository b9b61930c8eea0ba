using System.Text.RegularExpressions;

namespace Frugal.Methods.Compression;

/// <summary>How the exponent bits of an "fpN" gradient format are chosen per layer (METHODS.md §1).</summary>
public enum ExponentBitsRule
{
    /// <summary>The reference table of σ₂ bounds (<see cref="ReferenceTable.ExponentBits"/>).</summary>
    ReferenceTable,
    /// <summary>The argmin of the expected quantisation error for the fitted lognormal, each format at its best
    /// centre (<see cref="FormatError.BestExponentBits"/>).</summary>
    MinimumError,
}

/// <summary>
/// The value of <c>--grad-format</c> (METHODS.md §1, low-bit floating-point gradients): either one fixed
/// <see cref="FloatFormat"/> for every layer, or "fpN" / "fpNfn": N bits per value (IEEE-like, or without
/// infinity), with the exponent bits chosen per layer from σ₂ = std of log2|g| (N in 4..8, the table's range).
/// </summary>
public sealed partial record GradientFormatSpec
{
    public const int MinPerLayerBits = 4, MaxPerLayerBits = 8;

    /// <summary>Bits per value, sign included.</summary>
    public int Bits { get; }
    /// <summary>The format of every layer, or null for a per-layer choice of exponent bits.</summary>
    public FloatFormat? Fixed { get; }
    /// <summary>The special values of the per-layer formats (a fixed format carries its own).</summary>
    public SpecialValues Specials { get; }
    public bool IsPerLayer => Fixed is null;

    GradientFormatSpec(int bits, FloatFormat? format, SpecialValues specials)
    {
        Bits = bits; Fixed = format; Specials = format?.Specials ?? specials;
    }

    public static GradientFormatSpec Of(FloatFormat format) => new(format.Bits, format, format.Specials);

    public static GradientFormatSpec PerLayer(int bits, SpecialValues specials = SpecialValues.InfNaN)
    {
        if (bits < MinPerLayerBits || bits > MaxPerLayerBits)
            throw BadValue($"fp{bits}", $"per-layer formats fpN need N in {MinPerLayerBits}..{MaxPerLayerBits}");
        return new(bits, null, specials);
    }

    /// <summary>The format for a layer whose gradient has σ₂ = std of log2|g| (the fixed one if there is one);
    /// <paramref name="rule"/> picks the exponent bits of a per-layer format, the mantissa takes the rest.</summary>
    public FloatFormat Resolve(double sigma2, ExponentBitsRule rule = ExponentBitsRule.ReferenceTable)
    {
        if (Fixed is not null) return Fixed;
        int e = rule == ExponentBitsRule.ReferenceTable
            ? ReferenceTable.ExponentBits(Bits, sigma2)
            : FormatError.BestExponentBits(Bits, sigma2, Specials);
        return new FloatFormat(e, Bits - 1 - e, Specials);
    }

    public override string ToString() => Fixed?.ToString() ?? $"fp{Bits}{(Specials == SpecialValues.NaNOnly ? "fn" : "")}";

    /// <summary>Reads "fpN", "fpNfn" or any form <see cref="FloatFormat.Parse"/> reads (case-insensitive).</summary>
    public static GradientFormatSpec Parse(string text)
    {
        var match = PerLayerPattern().Match(text?.Trim() ?? "");
        if (!match.Success) return Of(FloatFormat.Parse(text!));
        int bits = int.Parse(match.Groups[1].Value);
        if (bits < MinPerLayerBits || bits > MaxPerLayerBits)
            throw BadValue(text, $"per-layer formats fpN need N in {MinPerLayerBits}..{MaxPerLayerBits}");
        return new(bits, null, match.Groups[2].Success ? SpecialValues.NaNOnly : SpecialValues.InfNaN);
    }

    internal static ArgumentException BadValue(string? text, string? why = null) => new Frugal.Options.OptionException("format",
        $"'{text}' is not a gradient format{(why is null ? "" : $" ({why})")}. Expected eXmY (IEEE-like, e.g. " +
        "e5m2, e3m2), eXmYfn (no infinity, OCP E4M3 style, e.g. e4m3fn), e5m10 (IEEE half) with X in 1..8, Y ≥ 1, " +
        $"1+X+Y ≤ 16; or fpN / fpNfn with N in {MinPerLayerBits}..{MaxPerLayerBits} (N bits, exponent bits chosen per layer).");

    [GeneratedRegex(@"^fp(\d{1,3})(fn)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex PerLayerPattern();
}
