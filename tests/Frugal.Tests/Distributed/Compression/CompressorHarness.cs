using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Tensors;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>Runs a compressor on N in-process ranks with known inputs, so tests can compare with the exact sum.</summary>
static class CompressorHarness
{
    /// <summary>A bucket of parameters p0, p1, … with the given element counts.</summary>
    public static GradientBucket Bucket(int index, params int[] sizes) =>
        new(index, sizes.Select((n, i) => { var t = Tensor.Zeros(n); t.Name = $"p{i}"; return t; }).ToArray());

    /// <summary>
    /// Each rank makes its compressor and, for every step, fills the bucket with <paramref name="input"/>(rank, step) and
    /// reduces it; returns results[step][rank]. <paramref name="after"/> runs on each rank after the last step.
    /// </summary>
    public static float[][][] Run(int ranks, Func<IGradientCompressor> make, int[] sizes, Func<int, int, float[]> input,
                                  int steps = 1, Action<IProcessGroup, IGradientCompressor>? after = null)
    {
        var results = Enumerable.Range(0, steps).Select(_ => new float[ranks][]).ToArray();
        InProcessGroup.Run(ranks, g =>
        {
            var compressor = make();
            var bucket = Bucket(0, sizes);
            for (int t = 0; t < steps; t++)
            {
                input(g.Rank, t).CopyTo(bucket.Values, 0);
                compressor.Reduce(bucket, g);
                results[t][g.Rank] = (float[])bucket.Values.Clone();
            }
            after?.Invoke(g, compressor);
        });
        return results;
    }

    /// <summary>Gradient-like values: segment s of rank r is N(0, 1)·10^(3s − 5)·(1 + r/4), about 5% exact zeros,
    /// so neighbouring segments differ by three orders of magnitude.</summary>
    public static float[] Mixed(int rank, int[] sizes, int seed = 0)
    {
        var rng = new Random(1000 * seed + rank);
        var values = new List<float>();
        for (int s = 0; s < sizes.Length; s++)
            for (int i = 0; i < sizes[s]; i++)
                values.Add(rng.NextDouble() < 0.05 ? 0 : (float)(Gaussian(rng) * Math.Pow(10, 3 * s - 5) * (1 + rank / 4.0)));
        return values.ToArray();
    }

    /// <summary>Lognormal magnitudes (ln|g| ~ N(mu, sigma²)) with random signs and a fraction of exact zeros.</summary>
    public static float[] LogNormalValues(int n, double mu, double sigma, double zeros, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextDouble() < zeros ? 0f
            : (float)((rng.Next(2) == 0 ? -1 : 1) * Math.Exp(mu + sigma * Gaussian(rng)))).ToArray();
    }

    public static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Σ over ranks in double.</summary>
    public static double[] ExactSum(int ranks, Func<int, float[]> input)
    {
        var sum = new double[input(0).Length];
        for (int r = 0; r < ranks; r++) { var x = input(r); for (int i = 0; i < sum.Length; i++) sum[i] += x[i]; }
        return sum;
    }

    public static void AssertIdenticalOnEveryRank(float[][] byRank)
    {
        for (int r = 1; r < byRank.Length; r++)
            Assert.True(byRank[0].Select(BitConverter.SingleToInt32Bits).SequenceEqual(byRank[r].Select(BitConverter.SingleToInt32Bits)),
                $"rank {r}'s result differs from rank 0's");
    }

    /// <summary>The wire bytes of one reduce on each rank.</summary>
    public static long[] WireBytes(int ranks, Func<IGradientCompressor> make, int[] sizes, Func<int, float[]> input)
    {
        var wire = new long[ranks];
        InProcessGroup.Run(ranks, g =>
        {
            var compressor = make();
            var bucket = Bucket(0, sizes);
            input(g.Rank).CopyTo(bucket.Values, 0);
            long before = g.Traffic.WireBytes;
            compressor.Reduce(bucket, g);
            wire[g.Rank] = g.Traffic.WireBytes - before;
        });
        return wire;
    }
}
