using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Options;
using static Frugal.Tests.Distributed.Compression.CompressorHarness;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>
/// The entropy-coded exchange (METHODS.md §4.1 PROPOSAL): the same sum on every rank within the quantiser's half step
/// of the exact one, a bounded accumulated error with error feedback (and a growing one without), bits chosen from
/// the RMS, and far fewer bytes on the wire than fp32.
/// </summary>
public class EntropyCodedReduceTests
{
    static EntropyCodedReduce Make(bool feedback = true, int bits = 4) => new(new EntropyCodedReduceOptions { ErrorFeedback = feedback, BaseBits = bits });

    /// <summary>Uniform in ±a: the 3·RMS = √3·a clip is never reached.</summary>
    static float[] Uniform(int n, double a, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(a * (2 * rng.NextDouble() - 1))).ToArray();
    }

    static double Rms(float[] x) => Math.Sqrt(x.Average(v => (double)v * v));

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Every_rank_gets_the_same_sum_within_half_a_step_per_rank(int ranks)
    {
        int[] sizes = [3000, 17];
        Func<int, float[]> input = r => Uniform(3017, 1 + r, r);
        var results = Run(ranks, () => Make(feedback: false), sizes, (r, _) => input(r));
        AssertIdenticalOnEveryRank(results[0]);
        var exact = ExactSum(ranks, input);
        // First step: b = b₀ = 4, s_r = 3·RMS_r/8; rounding moves each rank's value by at most s_r/2.
        double bound = Enumerable.Range(0, ranks).Sum(r => 3 * Rms(input(r)) / 8 / 2) * (1 + 1e-5);
        double worst = exact.Select((v, i) => Math.Abs(results[0][0][i] - v)).Max();
        Assert.True(worst <= bound, $"largest error {worst:g4}, bound Σ s_r/2 = {bound:g4}");
        Assert.True(worst > bound / 4, "the sum is (nearly) exact: was anything quantised?");
    }

    [Fact]
    public void With_error_feedback_the_accumulated_error_stays_bounded_and_without_it_grows()
    {
        const int ranks = 2, steps = 200;
        int[] sizes = [500];
        // The same gradient every step: deterministic rounding repeats its error, which only feedback can cancel.
        Func<int, float[]> input = r => Uniform(500, 1, 10 + r);
        var exact = ExactSum(ranks, input);
        double Drift(bool feedback)
        {
            var results = Run(ranks, () => Make(feedback), sizes, (r, _) => input(r), steps);
            double worst = 0;
            for (int i = 0; i < exact.Length; i++)
                worst = Math.Max(worst, Math.Abs(results.Sum(step => (double)step[0][i]) - steps * exact[i]));
            return worst;
        }
        double step = 3 * Rms(input(0)) / 8;
        double with = Drift(true), without = Drift(false);
        // With feedback Σ_t (sent − exact) = −Σ_r e_r(T): at most one step's rounding per rank, whatever T.
        Assert.True(with <= ranks * step, $"with feedback the accumulated error is {with:g3}, one step per rank is {ranks * step:g3}");
        Assert.True(without > 20 * with, $"without feedback {without:g3}, with {with:g3}");
    }

    [Fact]
    public void Bits_follow_the_rms_of_what_is_sent()
    {
        var o = new EntropyCodedReduceOptions();
        Assert.Equal(4, EntropyCodedReduce.Bits(1, 1, o));
        Assert.Equal(3, EntropyCodedReduce.Bits(0.5, 1, o));
        Assert.Equal(3, EntropyCodedReduce.Bits(0.3, 1, o));     // ⌈log₂ 0.3⌉ = −1
        Assert.Equal(2, EntropyCodedReduce.Bits(0.25, 1, o));
        Assert.Equal(1, EntropyCodedReduce.Bits(1e-6, 1, o));
        Assert.Equal(8, EntropyCodedReduce.Bits(1e6, 1, o));
        Assert.Equal(5, EntropyCodedReduce.Bits(1.5, 1, o));
        Assert.Equal(1, EntropyCodedReduce.Bits(0, 1, o));
        // Through the exchange: the gradient halves each step (exactly: a power of two), so b falls from b₀ = 4 by one
        // a step down to 1.
        var figures = new Dictionary<string, object>();
        int[] sizes = [4000];
        Run(2, () => Make(feedback: false), sizes, (r, t) => Uniform(4000, 1, r).Select(v => v * MathF.Pow(0.5f, t)).ToArray(), steps: 5,
            after: (g, c) => { if (g.Rank == 0) c.CollectEpochFigures(figures); });
        Assert.Equal(4, figures["entropy_bits_max"]);
        Assert.Equal(1, figures["entropy_bits_min"]);
        Assert.Equal((4 + 3 + 2 + 1 + 1) / 5.0, (double)figures["entropy_bits_mean"], 6);
    }

    [Fact]
    public void The_wire_carries_a_small_fraction_of_fp32()
    {
        int[] sizes = [50000, 1000];
        // Gradient-like: Laplace, heavier-tailed than a Gaussian (H(q) at b = 4 about 3 bits).
        Func<int, float[]> input = r =>
        {
            var rng = new Random(r);
            return Enumerable.Range(0, 51000).Select(_ => { double u = rng.NextDouble() - 0.5; return (float)(-1e-3 * Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u))); }).ToArray();
        };
        var wire = WireBytes(2, () => Make(bits: 3), sizes, input);
        double bitsPerValue = 8.0 * wire[0] / 51000;
        // Two ranks: the exact ring all-reduce puts 4 bytes a value on the wire; a codec that sent fp32 could not pass.
        Assert.True(bitsPerValue < 3.2, $"{bitsPerValue:F2} bits per value on the wire (fp32 all-reduce: 32)");
        var figures = new Dictionary<string, object>();
        Run(2, () => Make(bits: 3), sizes, (r, _) => input(r), after: (g, c) => { if (g.Rank == 0) c.CollectEpochFigures(figures); });
        double coded = (double)figures["entropy_coded_bits_per_element"], h = (double)figures["entropy_q_entropy_bits"];
        Assert.InRange(coded, h, h * 1.02 + 0.01);
        Assert.True((double)figures["compress_ratio"] > 10, $"compress_ratio {figures["compress_ratio"]}");
        Assert.True((double)figures["entropy_table_bits_per_element"] < 0.01);
    }

    [Fact]
    public void A_non_finite_gradient_turns_the_sum_non_finite()
    {
        int[] sizes = [10];
        var results = Run(2, () => Make(), sizes, (r, _) => r == 1 ? [1, float.NaN, 0, 0, 0, 0, 0, 0, 0, 0] : Uniform(10, 1, 0));
        AssertIdenticalOnEveryRank(results[0]);
        Assert.All(results[0][0], v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void Options_are_validated_by_key()
    {
        string Key(EntropyCodedReduceOptions e) => Assert.Throws<OptionException>(() => new GradientExchangeOptions { Compressor = "entropy", Entropy = e }.Validate()).Key;
        Assert.Equal("entropy.min_bits", Key(new() { MinBits = 0 }));
        Assert.Equal("entropy.max_bits", Key(new() { MaxBits = 17 }));
        Assert.Equal("entropy.min_bits", Key(new() { MinBits = 5, MaxBits = 4, BaseBits = 4 }));
        Assert.Equal("entropy.base_bits", Key(new() { BaseBits = 9 }));
        Assert.Equal("entropy.scale_bits", Key(new() { ScaleBits = 8 }));     // 257 levels of 8 bits need more than 2^8/2
        Assert.Equal("entropy", Assert.Throws<OptionException>(() => new GradientExchangeOptions { Compressor = "fp8", Entropy = new() }.Validate()).Key);
        Assert.IsType<EntropyCodedReduce>(new GradientExchangeOptions { Compressor = "entropy" }.Validate().Create(new Frugal.Nn.Sequential(), 0));
        Assert.Contains("entropy", GradientExchangeOptions.Names);
    }
}
