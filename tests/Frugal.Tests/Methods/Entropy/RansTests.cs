using Frugal.Methods.Entropy;

namespace Frugal.Tests.Methods.Entropy;

/// <summary>rANS: exact round trips on every kind of input (property style, many seeds), a coded size within a small
/// margin of n·H(q) plus the stored table, and damaged blocks refused.</summary>
public class RansTests
{
    /// <summary>Quantised-gradient-like symbols: round(Laplace(0, scale)), a few hundred values around 0.</summary>
    static int[] Laplace(int n, double scale, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            double u = rng.NextDouble() - 0.5;
            return (int)Math.Round(-scale * Math.Sign(u) * Math.Log(1 - 2 * Math.Abs(u)));
        }).ToArray();
    }

    static int[] RoundTrip(int[] symbols, int scaleBits = Rans.DefaultScaleBits, int maxSymbols = Rans.DefaultMaxSymbols)
    {
        var block = Rans.Encode(symbols, scaleBits, maxSymbols);
        Assert.Equal(symbols.Length, Rans.Count(block));
        var decoded = new int[symbols.Length];
        Assert.Equal(block.Length, Rans.Decode(block, decoded));
        Assert.Equal(symbols, decoded);
        return decoded;
    }

    public static TheoryData<string> Kinds() => ["uniform4", "uniform300", "laplace", "skewed", "single", "pair", "large", "extremes", "mixed"];

    static int[] Make(string kind, int n, int seed)
    {
        var rng = new Random(seed);
        return kind switch
        {
            "uniform4" => Enumerable.Range(0, n).Select(_ => rng.Next(4)).ToArray(),
            "uniform300" => Enumerable.Range(0, n).Select(_ => rng.Next(-150, 150)).ToArray(),
            "laplace" => Laplace(n, 3, seed),
            // p(0) = 0.999: the rare symbols' frequency 1 of 2^14 is still coded exactly.
            "skewed" => Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.999 ? 0 : rng.Next(-3, 4)).ToArray(),
            "single" => Enumerable.Repeat(-7, n).ToArray(),
            "pair" => Enumerable.Range(0, n).Select(_ => rng.Next(2) * 1000 - 500).ToArray(),
            // Mostly distinct values far apart: nearly all escaped, and the dense histogram gives way to a dictionary.
            "large" => Enumerable.Range(0, n).Select(_ => rng.Next(int.MinValue, int.MaxValue)).ToArray(),
            "extremes" => Enumerable.Range(0, n).Select(i => (i % 3) switch { 0 => int.MinValue, 1 => int.MaxValue, _ => 0 }).ToArray(),
            // More frequent symbols than the table may hold: the tail is escaped.
            _ => Laplace(n, 200, seed),
        };
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_input_decodes_to_itself(string kind)
    {
        foreach (int n in new[] { 0, 1, 2, 7, 33, 1000, 20000 })
            for (int seed = 0; seed < 12; seed++)
                RoundTrip(Make(kind, n, 100 * n + seed));
    }

    [Fact]
    public void Small_tables_and_coarse_precision_round_trip()
    {
        for (int seed = 0; seed < 20; seed++)
        {
            var x = Laplace(5000, 40, seed);
            RoundTrip(x, scaleBits: Rans.MinScaleBits, maxSymbols: 3);
            RoundTrip(x, scaleBits: Rans.MinScaleBits, maxSymbols: 128);
            RoundTrip(x, scaleBits: Rans.MaxScaleBits, maxSymbols: 1 << 15);
        }
    }

    [Theory]
    [InlineData(0.7, 20000)]
    [InlineData(3, 20000)]
    [InlineData(30, 100000)]
    public void The_coded_size_is_within_a_small_margin_of_n_times_the_entropy_plus_the_table(double scale, int n)
    {
        for (int seed = 0; seed < 5; seed++)
        {
            var x = Laplace(n, scale, seed);
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            var size = Rans.Encode(x, output);
            Assert.Equal(output.WrittenCount, size.TotalBytes);
            double ideal = n * EmpiricalEntropy.Bits(x);
            double payloadBits = 8.0 * size.PayloadBytes;
            // The frequency quantisation and the singletons' escapes cost well under 1% here; 4 bytes of final state.
            Assert.True(payloadBits <= 1.01 * ideal + 64, $"Laplace({scale}): {payloadBits:F0} bits of payload, n·H = {ideal:F0}");
            Assert.True(payloadBits >= ideal - 64, $"below the entropy? {payloadBits:F0} < {ideal:F0}");
            int distinct = x.Distinct().Count();
            Assert.True(size.TableBytes <= 8 + 4 * distinct, $"table {size.TableBytes} bytes for {distinct} symbols");
        }
    }

    [Fact]
    public void One_repeated_symbol_costs_only_the_header()
    {
        var block = Rans.Encode(Enumerable.Repeat(3, 100000).ToArray());
        Assert.True(block.Length <= 8, $"{block.Length} bytes");
        Assert.Single(Rans.Encode([]));
    }

    [Fact]
    public void Quantised_frequencies_sum_to_the_total_and_keep_every_symbol()
    {
        var rng = new Random(4);
        for (int trial = 0; trial < 200; trial++)
        {
            int k = rng.Next(1, 600);
            var weights = Enumerable.Range(0, k).Select(_ => rng.NextDouble() < 0.1 ? 0L : (long)Math.Pow(10, 6 * rng.NextDouble())).ToArray();
            if (weights.All(w => w == 0)) weights[0] = 1;
            var f = RansModel.Quantize(weights, 1 << 12);
            Assert.Equal(1 << 12, f.Sum());
            for (int i = 0; i < k; i++) Assert.True(weights[i] == 0 ? f[i] == 0 : f[i] >= 1);
        }
    }

    [Fact]
    public void Damaged_blocks_are_refused()
    {
        var x = Laplace(3000, 3, 1);
        var block = Rans.Encode(x);
        var decoded = new int[x.Length];
        Assert.Throws<InvalidDataException>(() => Rans.Decode(block.AsSpan(0, block.Length / 2), decoded));
        Assert.Throws<InvalidDataException>(() => Rans.Decode(block.AsSpan(0, 3), decoded));
        Assert.Throws<ArgumentException>(() => Rans.Decode(block, new int[x.Length + 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rans.Encode(x, scaleBits: 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rans.Encode(x, scaleBits: 8, maxSymbols: 200));
    }
}
