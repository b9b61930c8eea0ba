using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Methods.Compression;
using Frugal.Ops;
using Frugal.Options;
using static Frugal.Tests.Distributed.Compression.CompressorHarness;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>
/// fp16 and low-bit FP exchange against the exact sum: the error stays within the bound of two roundings, stochastic
/// rounding is unbiased where nearest is not, error feedback keeps the accumulated error bounded, the bytes on the wire
/// are the format's share of an fp32 all-reduce, and per-layer formats are agreed from the pooled statistics.
/// </summary>
public class LowBitReduceTests
{
    /// <summary>Half the format's spacing at x after a scale 2^k that maps the piece's largest magnitude a into
    /// (max/2, max]: the spacing is 2^(max(e, emin) − M) in the scaled domain, so half of it is at most
    /// max(|x|·2^−(M+1), 2^(emin−M−1)·2^−k), and 2^−k &lt; 2a/max.</summary>
    static double HalfSpacing(FloatFormat f, double x, double largest) =>
        Math.Max(Math.Abs(x) * Math.ScaleB(1.0, -(f.MantissaBits + 1)), largest * Math.ScaleB(1.0, f.MinExponent - f.MantissaBits) / f.MaxFinite);

    /// <summary>Per element, the bound on |result − exact sum| for nearest rounding: one half spacing per rank's
    /// encoding (the segment's largest magnitude bounds its pieces'), one for the encoded sum, and fp32 summation.</summary>
    static double[] ErrorBound(FloatFormat f, int ranks, int[] sizes, Func<int, float[]> input)
    {
        var exact = ExactSum(ranks, input);
        var first = new double[exact.Length];
        var magnitude = new double[exact.Length];
        for (int r = 0; r < ranks; r++)
        {
            var x = input(r);
            ForEachSegment(sizes, (a, b) =>
            {
                double largest = 0;
                for (int i = a; i < b; i++) largest = Math.Max(largest, Math.Abs(x[i]));
                for (int i = a; i < b; i++) { first[i] += HalfSpacing(f, x[i], largest); magnitude[i] += Math.Abs(x[i]); }
            });
        }
        var bound = new double[exact.Length];
        ForEachSegment(sizes, (a, b) =>
        {
            double largest = 0;
            for (int i = a; i < b; i++) largest = Math.Max(largest, Math.Abs(exact[i]) + first[i]);
            for (int i = a; i < b; i++) bound[i] = first[i] + HalfSpacing(f, Math.Abs(exact[i]) + first[i], largest) + 1e-6 * magnitude[i];
        });
        return bound;
    }

    static void ForEachSegment(int[] sizes, Action<int, int> body)
    {
        for (int s = 0, a = 0; s < sizes.Length; a += sizes[s++]) body(a, a + sizes[s]);
    }

    public static TheoryData<string, int> FormatsAndRanks()
    {
        var data = new TheoryData<string, int>();
        foreach (var f in new[] { "e4m3fn", "e5m2", "e3m2", "e2m3fn", "e2m1", "e5m10" })
            foreach (int n in new[] { 1, 2, 3, 4 }) data.Add(f, n);
        return data;
    }

    [Theory]
    [MemberData(nameof(FormatsAndRanks))]
    public void The_sum_is_within_two_roundings_of_the_exact_sum(string name, int ranks)
    {
        var format = FloatFormat.Parse(name);
        int[] sizes = [257, 1, 100, 33];               // 391 values: not a multiple of 2, 3 or 4
        Func<int, float[]> input = r => Mixed(r, sizes);
        var results = Run(ranks, () => new LowBitReduce(new LowBitReduceOptions { Format = name }), sizes, (r, _) => input(r))[0];
        AssertIdenticalOnEveryRank(results);
        var exact = ExactSum(ranks, input);
        var bound = ErrorBound(format, ranks, sizes, input);
        double worst = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            double error = Math.Abs(results[0][i] - exact[i]);
            Assert.True(error <= bound[i], $"{name}, {ranks} ranks, element {i}: error {error:g4} exceeds the bound {bound[i]:g4} (exact {exact[i]:g6})");
            worst = Math.Max(worst, error / Math.Max(bound[i], 1e-300));
        }
        Assert.True(worst > 0.05, $"{name}: the largest error is {worst:g3} of the bound; was anything rounded?");
    }

    [Theory]
    [InlineData("fp16", 16, 2)]
    [InlineData("fp16", 16, 4)]
    [InlineData("e4m3fn", 8, 2)]
    [InlineData("e4m3fn", 8, 3)]
    [InlineData("e5m2", 8, 4)]
    [InlineData("e3m2", 6, 2)]
    [InlineData("e3m2", 6, 3)]
    [InlineData("e2m3fn", 6, 4)]
    [InlineData("e2m1", 4, 3)]
    [InlineData("e2m1", 4, 4)]
    public void The_wire_carries_the_formats_share_of_an_fp32_all_reduce(string name, int bits, int ranks)
    {
        int[] sizes = [5000, 2001];
        Func<IGradientCompressor> make = name == "fp16" ? () => new HalfPrecisionReduce() : () => new LowBitReduce(new LowBitReduceOptions { Format = name });
        var exact = WireBytes(ranks, () => new ExactReduce(), sizes, r => Mixed(r, sizes));
        var figures = new Dictionary<string, object>[ranks];
        var wire = new long[ranks];
        Run(ranks, make, sizes, (r, _) => Mixed(r, sizes), after: (g, c) =>
        {
            wire[g.Rank] = g.Traffic.WireBytes;
            c.CollectEpochFigures(figures[g.Rank] = []);
        });
        for (int r = 0; r < ranks; r++)
        {
            Assert.Equal(Traffic.AllReduceWire(4 * 7001, ranks), exact[r], 0.5);
            double share = (double)wire[r] / exact[r];
            Assert.InRange(share, bits / 32.0 * 0.995, bits / 32.0 + 0.005);
            Assert.Equal(wire[r], (long)figures[r]["compress_wire_bytes"]);
            Assert.Equal(32.0 / bits, (double)figures[r]["compress_ratio"], 32.0 / bits * 0.01);
        }
    }

    [Fact]
    public void Stochastic_rounding_is_unbiased_over_both_rounds_and_nearest_is_not()
    {
        const int ranks = 3, steps = 600;
        var format = FloatFormat.Parse("e2m1");
        int[] sizes = [40, 17];
        Func<int, float[]> input = r => Mixed(r, sizes, seed: 3);
        var exact = ExactSum(ranks, input);
        // Stochastic rounding moves at most one spacing (twice the half spacing): variance ≤ spacing²/4 per encoding.
        var halfFirst = new double[exact.Length];
        var sd = new double[exact.Length];
        for (int r = 0; r < ranks; r++)
        {
            var x = input(r);
            ForEachSegment(sizes, (a, b) =>
            {
                double largest = Enumerable.Range(a, b - a).Max(i => Math.Abs(x[i]));
                for (int i = a; i < b; i++) { double h = HalfSpacing(format, x[i], largest); halfFirst[i] += 2 * h; sd[i] += h * h; }
            });
        }
        ForEachSegment(sizes, (a, b) =>
        {
            double largest = Enumerable.Range(a, b - a).Max(i => Math.Abs(exact[i]) + halfFirst[i]);
            for (int i = a; i < b; i++) { double h = HalfSpacing(format, Math.Abs(exact[i]) + halfFirst[i], largest); sd[i] = Math.Sqrt(sd[i] + h * h); }
        });

        double WorstZ(Rounding rounding)
        {
            var results = Run(ranks, () => new LowBitReduce(new LowBitReduceOptions { Format = "e2m1", Rounding = rounding }, seed: 11),
                              sizes, (r, _) => input(r), steps);
            double worst = 0;
            for (int i = 0; i < exact.Length; i++)
            {
                if (sd[i] == 0) continue;
                double mean = results.Average(step => (double)step[0][i]);
                worst = Math.Max(worst, Math.Abs(mean - exact[i]) * Math.Sqrt(steps) / sd[i]);
            }
            return worst;
        }
        double stochastic = WorstZ(Rounding.Stochastic);
        Assert.True(stochastic < 5, $"stochastic rounding: the mean over {steps} steps is {stochastic:0.0} standard errors from the exact sum");
        double nearest = WorstZ(Rounding.NearestEven);
        Assert.True(nearest > 10, $"nearest rounding should show its bias here, yet its worst element is only {nearest:0.0} standard errors off");
    }

    [Fact]
    public void Error_feedback_keeps_the_accumulated_error_bounded()
    {
        const int ranks = 2, steps = 40;
        var format = FloatFormat.Parse("e3m2");
        int[] sizes = [60, 25];
        Func<int, float[]> input = r => Mixed(r, sizes, seed: 5);
        var exact = ExactSum(ranks, input);
        var bound = ErrorBound(format, ranks, sizes, input);
        double[] Accumulated(bool feedback)
        {
            var results = Run(ranks, () => new LowBitReduce(new LowBitReduceOptions { Format = "e3m2", ErrorFeedback = feedback }),
                              sizes, (r, _) => input(r), steps);
            return exact.Select((s, i) => results.Sum(step => (double)step[0][i]) - steps * s).ToArray();
        }
        var without = Accumulated(false);
        var with = Accumulated(true);
        for (int i = 0; i < exact.Length; i++)
            Assert.True(Math.Abs(with[i]) <= 2 * bound[i] + 1e-6 * steps * Math.Abs(exact[i]),
                $"element {i}: accumulated error {with[i]:g4} after {steps} steps with error feedback; one step's bound is {bound[i]:g4}");
        double norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
        Assert.True(norm(with) < 0.1 * norm(without), $"accumulated error with feedback {norm(with):g4}, without {norm(without):g4}");
    }

    [Fact]
    public void Per_layer_formats_come_from_sigma_pooled_over_the_ranks()
    {
        // Each rank alone has σ₂ = 0.5 (fp6 → E = 2), but their means differ by 5 binades: pooled σ₂ ≈ 2.55 → E = 4.
        const int ranks = 2;
        int[] sizes = [4000];
        float[] Input(int r)
        {
            var rng = new Random(r);
            return Enumerable.Range(0, 4000).Select(_ => (float)((rng.Next(2) * 2 - 1) * Math.Pow(2, -10 + 5 * r + 0.5 * Gaussian(rng)))).ToArray();
        }
        var formats = new string?[ranks];
        var after = new object?[ranks];
        var results = Run(ranks, () => new LowBitReduce(new LowBitReduceOptions { Format = "fp6" }), sizes, (r, _) => Input(r), after: (g, c) =>
        {
            var lowBit = (LowBitReduce)c;
            formats[g.Rank] = lowBit.FormatOf(0)?.ToString();
            var figures = new Dictionary<string, object>();
            lowBit.CollectEpochFigures(figures);
            Assert.Equal("e4m1", ((Dictionary<string, object>)figures["compress_formats"])["0"]);
            after[g.Rank] = lowBit.FormatOf(0);       // chosen afresh next epoch
        })[0];
        Assert.Equal(new[] { "e4m1", "e4m1" }, formats);
        Assert.All(after, Assert.Null);
        Assert.Equal("e2m3", GradientFormatSpec.Parse("fp6").Resolve(0.5).ToString());
        AssertIdenticalOnEveryRank(results);
    }

    [Fact]
    public void Half_precision_saturates_instead_of_overflowing_and_keeps_nan_visible()
    {
        int[] sizes = [4];
        var results = Run(2, () => new HalfPrecisionReduce(), sizes, (r, _) => r == 0 ? [1e6f, -1e6f, 1, float.NaN] : [0, 0, 2, 0])[0];
        Assert.Equal(new[] { 65504f, -65504f, 3f }, results[0][..3]);
        Assert.True(float.IsNaN(results[0][3]));
    }

    [Fact]
    public void Half_precision_rounds_each_value_twice_at_most()
    {
        const int ranks = 3;
        int[] sizes = [1000, 7];
        Func<int, float[]> input = r => Mixed(r, sizes).Select(v => v * 1e4f).ToArray();   // inside half's normal range
        var results = Run(ranks, () => new HalfPrecisionReduce(), sizes, (r, _) => input(r))[0];
        AssertIdenticalOnEveryRank(results);
        var exact = ExactSum(ranks, input);
        var magnitude = new double[exact.Length];
        for (int r = 0; r < ranks; r++) { var x = input(r); for (int i = 0; i < x.Length; i++) magnitude[i] += Math.Abs(x[i]); }
        const double u = 1.0 / 2048, tiny = 1.0 / (1 << 25);      // 2^−11 relative; half the smallest denormal
        for (int i = 0; i < exact.Length; i++)
            Assert.True(Math.Abs(results[0][i] - exact[i]) <= u * (magnitude[i] + Math.Abs(exact[i]) + u * magnitude[i]) + (ranks + 1) * tiny,
                $"element {i}: {results[0][i]} vs {exact[i]}");
        Assert.Contains(exact.Select((s, i) => Math.Abs(results[0][i] - s)), e => e > 0);
    }

    [Fact]
    public void Bad_options_name_their_key()
    {
        Assert.Equal("format", Assert.Throws<OptionException>(() => new LowBitReduceOptions { Format = "fp9" }.Validate()).Key);
        Assert.Equal("format", Assert.Throws<OptionException>(() => new LowBitReduceOptions { Format = "e9m2" }.Validate()).Key);
        Assert.Equal("format", Assert.Throws<OptionException>(() => new LowBitReduce(new LowBitReduceOptions { Format = "fp16" })).Key);
        Assert.Equal("rounding", Assert.Throws<OptionException>(() => new LowBitReduceOptions { Rounding = (Rounding)7 }.Validate()).Key);
        Assert.Equal("fp8", new LowBitReduce(new LowBitReduceOptions()).Name);
        Assert.Equal("e4m3fn", new LowBitReduce(new LowBitReduceOptions { Format = "E4M3FN" }).Name);
    }
}
