using Frugal.Methods.Compression;

namespace Frugal.Tests.Methods.Compression;

/// <summary>FloatFormat's constants, codes and parsing, and the grad_format.format values (METHODS.md §1).</summary>
public class FloatFormatTests
{
    [Fact]
    public void Constants_of_known_formats()
    {
        var half = FloatFormat.Parse("e5m10");
        Assert.Equal((16, 15, -14), (half.Bits, half.Bias, half.MinExponent));
        Assert.Equal(65504f, half.MaxFinite);
        Assert.Equal((float)Half.Epsilon, half.MinSubnormal);           // 2^−24
        Assert.Equal(MathF.ScaleB(1, -14), half.MinNormal);
        var e3m2 = FloatFormat.Parse("e3m2");                           // bias 3, top field reserved
        Assert.Equal((14f, 0.0625f, 0.25f), (e3m2.MaxFinite, e3m2.MinSubnormal, e3m2.MinNormal));
        Assert.Equal(24f, FloatFormat.Parse("e3m2fn").MaxFinite);       // 2^(7−3)·1.5: only S.111.11 is NaN
        var e1m2 = FloatFormat.Parse("e1m2");                           // IEEE-like E = 1: denormals only
        Assert.Equal(1.5f, e1m2.MaxFinite);
        Assert.True(e1m2.MinNormal > e1m2.MaxFinite);
        Assert.Equal(3f, FloatFormat.Parse("e1m2fn").MaxFinite);        // denormals 0, 0.5, 1, 1.5; field 1: 2, 2.5, 3 (3.5 is NaN)
    }

    [Fact]
    public void Max_finite_is_the_largest_decoded_value_of_every_small_format()
    {
        for (int e = 1; e <= 6; e++)
            for (int m = 1; e + m <= 7; m++)
                foreach (var sp in new[] { SpecialValues.InfNaN, SpecialValues.NaNOnly })
                {
                    var f = new FloatFormat(e, m, sp);
                    var finite = Enumerable.Range(0, 1 << f.Bits).Select(f.Decode).Where(float.IsFinite).ToArray();
                    Assert.Equal(finite.Max(), f.MaxFinite);
                    Assert.Equal(finite.Where(v => v > 0).Min(), f.MinSubnormal);
                }
    }

    [Theory]
    [InlineData("e4m3fn")] [InlineData("e5m2")] [InlineData("e3m2")] [InlineData("e2m1fn")] [InlineData("e1m6")] [InlineData("e5m10")]
    public void Encode_inverts_decode_on_every_code(string name)
    {
        var f = FloatFormat.Parse(name);
        for (int code = 0; code < 1 << f.Bits; code++)
        {
            float v = f.Decode(code);
            if (float.IsNaN(v)) Assert.True(float.IsNaN(f.Decode(f.Encode(v))));
            else Assert.Equal(code, f.Encode(v));
        }
    }

    [Theory]
    [InlineData("e5m2", 5, 2, SpecialValues.InfNaN)]
    [InlineData("E4M3FN", 4, 3, SpecialValues.NaNOnly)]
    [InlineData(" e3m2 ", 3, 2, SpecialValues.InfNaN)]
    [InlineData("e5m10", 5, 10, SpecialValues.InfNaN)]
    [InlineData("e8m7", 8, 7, SpecialValues.InfNaN)]
    [InlineData("e1m6fn", 1, 6, SpecialValues.NaNOnly)]
    public void Parse_reads_the_documented_forms(string text, int e, int m, SpecialValues specials)
    {
        var f = FloatFormat.Parse(text);
        Assert.Equal(new FloatFormat(e, m, specials), f);
        Assert.Equal(f, FloatFormat.Parse(f.ToString()));
        Assert.Equal(f, GradientFormatSpec.Parse(text).Fixed);
    }

    [Theory]
    [InlineData("")] [InlineData("fp8")] [InlineData("e0m3")] [InlineData("e4m0")] [InlineData("e9m2")] [InlineData("e8m7fn")]
    [InlineData("e5m11")] [InlineData("e4m3fnuz")] [InlineData("half")] [InlineData("e4 m3")]
    public void Parse_rejects_other_strings_naming_the_key_the_value_and_the_forms(string text)
    {
        var ex = Assert.Throws<Frugal.Options.OptionException>(() => FloatFormat.Parse(text));
        Assert.Equal("format", ex.Key);
        Assert.Contains($"'{text}'", ex.Message);
        Assert.Contains("e4m3fn", ex.Message);
        Assert.Contains("fpN", ex.Message);
    }

    [Fact]
    public void Gradient_format_spec_reads_per_layer_forms_and_resolves_them()
    {
        var fp6 = GradientFormatSpec.Parse("fp6");
        Assert.True(fp6.IsPerLayer);
        Assert.Equal((6, SpecialValues.InfNaN, "fp6"), (fp6.Bits, fp6.Specials, fp6.ToString()));
        Assert.Equal(new FloatFormat(3, 2), fp6.Resolve(1.45));                     // table: 0.9 < σ₂ ≤ 2.0 → E = 3
        Assert.Equal(new FloatFormat(4, 1), fp6.Resolve(2.5));
        var fp8fn = GradientFormatSpec.Parse("FP8fn");
        Assert.Equal(new FloatFormat(4, 3, SpecialValues.NaNOnly), fp8fn.Resolve(2.55, ExponentBitsRule.MinimumError));
        Assert.Equal(fp8fn, GradientFormatSpec.PerLayer(8, SpecialValues.NaNOnly));
        var fixedSpec = GradientFormatSpec.Parse("e5m2");
        Assert.False(fixedSpec.IsPerLayer);
        Assert.Equal(FloatFormat.E5M2, fixedSpec.Resolve(7.0));
        foreach (var bad in new[] { "fp3", "fp9", "fp16", "fpx" })
        {
            var ex = Assert.Throws<Frugal.Options.OptionException>(() => GradientFormatSpec.Parse(bad));
            Assert.Equal("format", ex.Key);
            Assert.Contains($"'{bad}'", ex.Message);
        }
    }
}
