using Frugal.Backends;
using Frugal.Methods.Compression;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>
/// The float quantisation kernel (METHODS.md §1) on every device: bit-exact against System.Half and the OCP FP8
/// formats, ties to even, saturation, stochastic rounding's unbiasedness and reproducibility, the scale.
/// </summary>
public class QuantizeFloatKernelTests
{
    static float[] Quantize(float[] x, Device d, FloatFormat f, Rounding r = Rounding.NearestEven, float scale = 1, ulong seed = 0)
        => Tensor.FromArray(x, new Shape(x.Length), d).QuantizeFloat(f, r, scale, seed).ToArray();

    static void SameBits(float expected, float actual, string what)
    {
        if (float.IsNaN(expected)) { Assert.True(float.IsNaN(actual), $"{what}: {actual}, expected NaN"); return; }
        Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(actual),
            $"{what}: {actual:R} (0x{BitConverter.SingleToUInt32Bits(actual):X8}), expected {expected:R} (0x{BitConverter.SingleToUInt32Bits(expected):X8})");
    }

    /// <summary>1.3·10⁵ inputs: random floats from 2^−30 (below half's smallest denormal 2^−24) to 2^17 (beyond its
    /// max 65504), exact midpoints between neighbouring halves (normals and denormals) and one float ulp either side,
    /// the overflow boundary (65504, the tie 65520 = 65504 + half a step, beyond), float denormals, ±0.</summary>
    static float[] HalfCases()
    {
        var g = new Generator(11);
        var cases = new List<float>();
        float Signed(float v) => (g.NextULong() & 1) == 0 ? v : -v;
        for (int i = 0; i < 100_000; i++)
        {
            int e = -30 + g.NextInt(48);
            cases.Add(Signed(BitConverter.UInt32BitsToSingle(((uint)(e + 127) << 23) | ((uint)g.NextULong() & 0x7F_FFFF))));
        }
        for (int i = 0; i < 10_000; i++)
        {
            // A random finite half below the largest, its successor, and their midpoint (exact in float32).
            ushort bits = (ushort)g.NextInt(0x7BFF);
            float lo = (float)BitConverter.UInt16BitsToHalf(bits), hi = (float)BitConverter.UInt16BitsToHalf((ushort)(bits + 1));
            float mid = (lo + hi) / 2;
            cases.Add(Signed(mid)); cases.Add(Signed(MathF.BitIncrement(mid))); cases.Add(Signed(MathF.BitDecrement(mid)));
        }
        foreach (float v in new[] { 65504f, 65519.996f, 65520f, MathF.BitIncrement(65520f), 65536f, 1e5f, float.MaxValue,
                                    0f, float.Epsilon, 1e-45f * 7, 1.17549421e-38f, MathF.ScaleB(1, -25), 3 * MathF.ScaleB(1, -25), MathF.ScaleB(1, -14) })
        {
            cases.Add(v); cases.Add(-v);
        }
        return cases.ToArray();
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void E5M10_is_bit_exact_with_System_Half_saturating_where_Half_overflows(string device)
    {
        var x = HalfCases();
        var y = Quantize(x, TestDevices.Parse(device), FloatFormat.Half);
        for (int i = 0; i < x.Length; i++)
        {
            Half h = (Half)x[i];
            float expected = Half.IsInfinity(h) ? MathF.CopySign(65504f, x[i]) : (float)h;
            SameBits(expected, y[i], $"e5m10({x[i]:R})");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Nan_stays_nan_and_infinity_is_kept_by_ieee_formats_only(string device)
    {
        var d = TestDevices.Parse(device);
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1f];
        foreach (var r in new[] { Rounding.NearestEven, Rounding.Stochastic })
        {
            var ieee = Quantize(x, d, FloatFormat.E5M2, r);
            Assert.True(float.IsNaN(ieee[0]));
            Assert.Equal(float.PositiveInfinity, ieee[1]);
            Assert.Equal(float.NegativeInfinity, ieee[2]);
            var fn = Quantize(x, d, FloatFormat.E4M3FN, r);
            Assert.True(float.IsNaN(fn[0]) && float.IsNaN(fn[1]) && float.IsNaN(fn[2]));
            Assert.Equal(1f, fn[3]);
        }
    }

    public static TheoryData<string, string> OcpFormats()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Names) { data.Add(d, "e4m3fn"); data.Add(d, "e5m2"); }
        return data;
    }

    static double Ocp(string format, int code) => format == "e4m3fn" ? OcpFp8.E4M3(code) : OcpFp8.E5M2(code);

    [Fact]
    public void Ocp_codes_decode_as_the_specification_says()
    {
        foreach (var name in new[] { "e4m3fn", "e5m2" })
        {
            var f = FloatFormat.Parse(name);
            for (int code = 0; code < 256; code++)
            {
                double expected = Ocp(name, code);
                float got = f.Decode(code);
                if (double.IsNaN(expected)) Assert.True(float.IsNaN(got), $"{name} code 0x{code:X2}: {got}, expected NaN");
                else Assert.True((double)got == expected && float.IsNegative(got) == (code >= 128),
                    $"{name} code 0x{code:X2}: {got:R}, expected {expected:R}");
            }
        }
        Assert.Equal(448f, FloatFormat.E4M3FN.MaxFinite);
        Assert.Equal(57344f, FloatFormat.E5M2.MaxFinite);
        Assert.Equal(MathF.ScaleB(1, -9), FloatFormat.E4M3FN.MinSubnormal);
        Assert.Equal(MathF.ScaleB(1, -16), FloatFormat.E5M2.MinSubnormal);
        Assert.Equal(MathF.ScaleB(1, -6), FloatFormat.E4M3FN.MinNormal);
        Assert.Equal(MathF.ScaleB(1, -14), FloatFormat.E5M2.MinNormal);
        // NaN codes: E4M3 only S.1111.111; E5M2 S.11111.{01,10,11}, with S.11111.00 = ±inf.
        Assert.Equal([0x7F, 0xFF], Enumerable.Range(0, 256).Where(c => float.IsNaN(FloatFormat.E4M3FN.Decode(c))));
        Assert.Equal([0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF], Enumerable.Range(0, 256).Where(c => float.IsNaN(FloatFormat.E5M2.Decode(c))));
        Assert.Equal(float.NegativeInfinity, FloatFormat.E5M2.Decode(0xFC));
    }

    /// <summary>The finite codes in increasing value, with their values (−0 excluded; +0 included once).</summary>
    static (int Code, float Value)[] Ladder(FloatFormat f) => Enumerable.Range(0, 1 << f.Bits)
        .Select(c => (Code: c, Value: f.Decode(c)))
        .Where(p => float.IsFinite(p.Value) && !(p.Value == 0 && float.IsNegative(p.Value)))
        .OrderBy(p => p.Value).ToArray();

    [Theory, MemberData(nameof(OcpFormats))]
    public void Representable_values_are_fixed_points_under_both_roundings(string device, string format)
    {
        var f = FloatFormat.Parse(format);
        var values = Ladder(f).Select(p => p.Value).ToArray();
        var d = TestDevices.Parse(device);
        Assert.Equal(values, Quantize(values, d, f));
        Assert.Equal(values, Quantize(values, d, f, Rounding.Stochastic, seed: 5));
    }

    [Theory, MemberData(nameof(OcpFormats))]
    public void Midpoints_round_to_the_even_code_and_near_midpoints_to_the_nearer(string device, string format)
    {
        var f = FloatFormat.Parse(format);
        var ladder = Ladder(f);
        var x = new List<float>(); var expected = new List<float>();
        for (int i = 0; i + 1 < ladder.Length; i++)
        {
            var (lo, hi) = (ladder[i], ladder[i + 1]);
            float mid = (lo.Value + hi.Value) / 2;       // exact: both values have ≤ 4 significant bits
            // Codes of neighbours of the same sign differ by one, so exactly one is even; 0 (code 0) is even.
            x.Add(mid); expected.Add((Math.Abs(lo.Code) & 1) == 0 ? lo.Value : hi.Value);
            x.Add(MathF.BitDecrement(mid)); expected.Add(lo.Value);
            x.Add(MathF.BitIncrement(mid)); expected.Add(hi.Value);
        }
        var y = Quantize(x.ToArray(), TestDevices.Parse(device), f);
        // A value that rounds to zero keeps its sign (−0 for the negative side), as IEEE rounding does.
        for (int i = 0; i < x.Count; i++) SameBits(expected[i] == 0 ? MathF.CopySign(0, x[i]) : expected[i], y[i], $"{format}({x[i]:R})");
    }

    [Theory, MemberData(nameof(OcpFormats))]
    public void Beyond_the_largest_finite_value_saturates(string device, string format)
    {
        var f = FloatFormat.Parse(format);
        float max = f.MaxFinite;
        float[] x = [max * 1.01f, max * 1.2f, max * 1000, float.MaxValue, -max * 1.2f, -float.MaxValue];
        foreach (var r in new[] { Rounding.NearestEven, Rounding.Stochastic })
            Assert.Equal(x.Select(v => MathF.CopySign(max, v)), Quantize(x, TestDevices.Parse(device), f, r, seed: 3));
    }

    public static TheoryData<string, string> Formats()
    {
        var data = new TheoryData<string, string>();
        foreach (var d in TestDevices.Names)
            foreach (var f in new[] { "e1m6", "e1m2fn", "e2m3", "e3m2", "e4m3fn", "e5m2", "e6m1", "e3m4fn", "e5m10", "e8m7" }) data.Add(d, f);
        return data;
    }

    /// <summary>The step between neighbours at |x| (for |x| ≤ MaxFinite): 2^(emin−M) in the denormal range, else 2^(⌊log2|x|⌋−M).</summary>
    static double Step(FloatFormat f, double ax) =>
        ax < f.MinNormal ? f.MinSubnormal : Math.ScaleB(1.0, Math.ILogB(ax) - f.MantissaBits);

    [Theory, MemberData(nameof(Formats))]
    public void Nearest_even_error_is_at_most_half_a_step_and_the_result_is_representable(string device, string format)
    {
        var f = FloatFormat.Parse(format);
        var g = new Generator(21);
        double lo = Math.Log2(f.MinSubnormal) - 2, hi = Math.Log2(f.MaxFinite);
        var x = new float[20_000];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)(Math.Pow(2, lo + (hi - lo) * g.NextDouble()) * ((i & 1) == 0 ? 1 : -1));
        var y = Quantize(x, TestDevices.Parse(device), f);
        for (int i = 0; i < x.Length; i++)
        {
            double err = Math.Abs((double)y[i] - x[i]);
            Assert.True(err <= Step(f, Math.Abs(x[i])) / 2, $"{format}: |Q({x[i]:R}) − x| = {err:G4} > half a step");
            Assert.Equal(y[i], f.Decode(f.Encode(y[i])));     // a value of the format
        }
    }

    [Theory, MemberData(nameof(Formats))]
    public void Scale_is_applied_before_the_cast_and_divided_back_after(string device, string format)
    {
        var f = FloatFormat.Parse(format);
        var d = TestDevices.Parse(device);
        var x = new float[1000];
        new Generator(31).FillNormal(x, 0, 1);
        foreach (float scale in new[] { 0.125f, 64f, MathF.ScaleB(1, -20) })
        {
            // With a power-of-two scale, Q(x·s)/s is exactly the quantisation of the scaled values, scaled back.
            var scaled = x.Select(v => v * scale).ToArray();
            var expected = Quantize(scaled, d, f).Select(v => v / scale).ToArray();
            Assert.Equal(expected, Quantize(x, d, f, scale: scale));
        }
        // Values of the format divided by the scale come back unchanged.
        var values = Ladder(f.Bits <= 8 ? f : FloatFormat.E5M2).Select(p => p.Value / 1024f).ToArray();
        Assert.Equal(values, Quantize(values, d, f.Bits <= 8 ? f : FloatFormat.E5M2, scale: 1024f));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Stochastic_rounding_hits_only_the_two_neighbours_and_is_unbiased(string device)
    {
        var d = TestDevices.Parse(device);
        var f = FloatFormat.E4M3FN;
        const int n = 200_000;
        // Normal range (step 0.25 between 2.5 and 2.75), the denormal range (step 2^−9), the top binade.
        foreach (var (lo, hi) in new[] { (2.5f, 2.75f), (3 * f.MinSubnormal, 4 * f.MinSubnormal), (416f, 448f) })
            foreach (float frac in new[] { 0.1f, 0.5f, 0.77f })
            {
                float x = lo + frac * (hi - lo);
                var y = Quantize(Enumerable.Repeat(x, n).ToArray(), d, f, Rounding.Stochastic, seed: 7);
                float stray = y.FirstOrDefault(v => v != lo && v != hi, lo);
                Assert.True(stray == lo, $"Q({x}) = {stray}, not a neighbour {lo} or {hi}");
                double p = (x - (double)lo) / (hi - lo);
                // The number of ups is Binomial(n, p) (p has ≤ 24 fractional bits, so it is exact): its mean is
                // within 5 standard deviations, step·√(p(1−p)/n) ≤ 0.0011 steps, except with probability 6·10⁻⁷.
                double mean = y.Average(v => (double)v), sd = (hi - lo) * Math.Sqrt(p * (1 - p) / n);
                Assert.True(Math.Abs(mean - x) <= 5 * sd, $"mean of Q({x}) = {mean}, off by {(mean - x) / sd:F1} sd");
            }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Stochastic_rounding_is_a_function_of_seed_and_index(string device)
    {
        var d = TestDevices.Parse(device);
        var x = new float[5000];
        new Generator(41).FillNormal(x, 0, 1);
        var a = Quantize(x, d, FloatFormat.E5M2, Rounding.Stochastic, seed: 1);
        Assert.Equal(a, Quantize(x, d, FloatFormat.E5M2, Rounding.Stochastic, seed: 1));
        Assert.Equal(a, Quantize(x, Device.Cpu, FloatFormat.E5M2, Rounding.Stochastic, seed: 1));
        var b = Quantize(x, d, FloatFormat.E5M2, Rounding.Stochastic, seed: 2);
        int differ = a.Zip(b).Count(p => p.First != p.Second);
        // Roughly 1/3 of uniformly placed values flip between seeds (the expected share is E[2p(1−p)] = 1/3).
        Assert.InRange(differ, x.Length / 5, x.Length / 2);
    }

    [Theory, MemberData(nameof(Formats))]
    public void Kernel_gives_the_scalar_reference_bits_for_both_roundings_and_any_scale(string device, string format)
    {
        // Every backend must reproduce FloatRounding.Quantize exactly, random bits of stochastic rounding included
        // (same seed and flat index → same bits): magnitudes 2^−40 … 2^40, ties, ±0, NaN, inf, denormals, float max.
        var f = FloatFormat.Parse(format);
        var x = QuantizeFloatCpuTests.Data(5000, 17);
        foreach (var r in new[] { Rounding.NearestEven, Rounding.Stochastic })
            foreach (float scale in new[] { 1f, 0.375f, 1024f })
            {
                var y = Quantize(x, TestDevices.Parse(device), f, r, scale, seed: 99);
                var spec = new FloatRounding.Spec(f.ExponentBits, f.MantissaBits, f.HasInfinity, scale, r == Rounding.Stochastic, 99);
                for (int i = 0; i < x.Length; i++)
                {
                    float want = FloatRounding.Quantize(x[i], spec, (uint)i);
                    if (!want.Equals(y[i]) || BitConverter.SingleToUInt32Bits(want) != BitConverter.SingleToUInt32Bits(y[i]) && !float.IsNaN(want))
                        SameBits(want, y[i], $"{format} {r} scale {scale}: x[{i}] = {x[i]:R}");
                }
            }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Output_may_alias_the_input(string device)
    {
        var d = TestDevices.Parse(device);
        var t = Tensor.Randn(new Shape(1000), new Generator(51), d);
        var expected = t.QuantizeFloat(FloatFormat.E4M3FN, Rounding.Stochastic, 4, 9).ToArray();
        t.Backend.QuantizeFloat(t, t, 4, 3, false, 4, true, 9);
        Assert.Equal(expected, t.ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gradient_passes_straight_through(string device)
    {
        var x = Check.Param(TestDevices.Parse(device), 61, 4, 5);
        var w = Tensor.Randn(new Shape(4, 5), new Generator(62), x.Device);
        x.QuantizeFloat(FloatFormat.E5M2).Mul(w).Sum().Backward();
        Assert.Equal(w.ToArray(), x.Grad!.ToArray());
    }

    [Fact]
    public void Bad_arguments_name_the_op_and_the_value()
    {
        var x = Tensor.Zeros(3);
        var ex = Assert.Throws<ArgumentException>(() => x.QuantizeFloat(5, 2, true, scale: 0));
        Assert.Contains("quantize_float", ex.Message); Assert.Contains("0", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.QuantizeFloat(9, 2, true));
        Assert.Contains("exponent bits", ex.Message); Assert.Contains("9", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.QuantizeFloat(8, 7, false));
        Assert.Contains("float32", ex.Message);
        Assert.Throws<ArgumentException>(() => x.QuantizeFloat(3, 0, true));
        Assert.Throws<ArgumentException>(() => x.Backend.QuantizeFloat(x, Tensor.Zeros(4), 5, 2, true, 1, false, 0));
    }
}
