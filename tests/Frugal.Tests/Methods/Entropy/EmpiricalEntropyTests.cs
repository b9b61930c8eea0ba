using Frugal.Methods.Entropy;

namespace Frugal.Tests.Methods.Entropy;

/// <summary>H(q) of known distributions, and the quantisers the entropy figures are computed on.</summary>
public class EmpiricalEntropyTests
{
    [Fact]
    public void Known_distributions_have_their_entropy()
    {
        Assert.Equal(0, EmpiricalEntropy.Bits(ReadOnlySpan<int>.Empty));
        Assert.Equal(0, EmpiricalEntropy.Bits([5, 5, 5]));
        // Uniform over 2^k values: k bits.
        for (int k = 1; k <= 10; k++)
            Assert.Equal(k, EmpiricalEntropy.Bits(Enumerable.Range(0, 3 << k).Select(i => i % (1 << k) - 7).ToArray()), 12);
        // Bernoulli(p): −p log p − (1 − p) log (1 − p).
        foreach (double p in new[] { 0.5, 0.1, 0.01 })
        {
            long ones = (long)(p * 1000000);
            double h = -p * Math.Log2(p) - (1 - p) * Math.Log2(1 - p);
            Assert.Equal(h, EmpiricalEntropy.Bits([1000000 - ones, ones, 0]), 9);
        }
        // Geometric(1/2) on 0..19, truncated: Σ k·2^−k → 2 bits.
        var counts = Enumerable.Range(1, 20).Select(k => 1L << (20 - k)).ToArray();
        Assert.Equal(2, EmpiricalEntropy.Bits(counts), 3);
        Assert.Throws<ArgumentException>(() => EmpiricalEntropy.Bits([3L, -1L]));
    }

    [Fact]
    public void The_histogram_counts_dense_and_sparse_alphabets_alike()
    {
        int[] x = [3, -2, 3, 3, 70000, -2, int.MinValue];
        var sparse = new SymbolHistogram(x);
        Assert.Equal([int.MinValue, -2, 3, 70000], sparse.Symbols);
        Assert.Equal([1L, 2, 3, 1], sparse.Counts);
        Assert.Equal(2, sparse.IndexOf(3));
        Assert.Equal(-1, sparse.IndexOf(4));
        var dense = new SymbolHistogram([3, -2, 3, 3, -2]);
        Assert.Equal([-2, 3], dense.Symbols);
        Assert.Equal(-1, dense.IndexOf(0));
        Assert.Equal(-1, dense.IndexOf(int.MaxValue));
        Assert.Equal(1, dense.IndexOf(3));
    }

    [Fact]
    public void The_rms_relative_step_spans_three_rms_and_clips_beyond()
    {
        Assert.Equal(3 * 0.5 / 8, SymbolQuantizer.RmsStep(0.5, 4));
        Assert.Equal(8, SymbolQuantizer.Limit(4));
        float[] x = [0, 0.125f, 0.375f, -0.26f, 10, -10, float.NaN];
        var q = new int[x.Length];
        SymbolQuantizer.Quantize(x, 0.25, 8, q);
        Assert.Equal([0, 0, 2, -1, 8, -8, 0], q);     // halves round to even
        var r = new float[x.Length];
        SymbolQuantizer.Quantize(x.AsSpan(0, 6), 0.25f, 8, q.AsSpan(0, 6), r.AsSpan(0, 6));
        for (int i = 0; i < 6; i++) Assert.Equal(x[i] - 0.25f * q[i], r[i]);
        SymbolQuantizer.Quantize(x, 0, 8, q);
        Assert.All(q, v => Assert.Equal(0, v));
        // An RMS-relative 4-bit quantiser of a Gaussian: H ≈ h(N(0,1)) − log₂(s/σ) = 2.05 + 1.42 ≈ 3.4 bits.
        var rng = new Random(1);
        var g = Enumerable.Range(0, 100000).Select(_ => (float)Frugal.Tests.Distributed.Compression.CompressorHarness.Gaussian(rng)).ToArray();
        var bits = QuantizedEntropy.RmsRelative(g, 4);
        Assert.InRange(bits.EntropyBits, 3.3, 3.5);
        Assert.InRange(bits.CodedBits, bits.EntropyBits, bits.EntropyBits * 1.01 + 0.01);
        // A fixed step twice as coarse: one bit less.
        double s = SymbolQuantizer.RmsStep(SymbolQuantizer.Rms(g), 4);
        Assert.Equal(bits.EntropyBits - 1, QuantizedEntropy.Fixed(g, 2 * s).EntropyBits, 1);
    }
}
