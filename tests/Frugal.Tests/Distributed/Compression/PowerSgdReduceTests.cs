using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Tensors;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>
/// powersgd against PowerSGD (Vogels et al., NeurIPS 2019): a rank-r sum is recovered, warm-started power iteration
/// converges to the best rank-r approximation (Eckart–Young) and a cold start does not, error feedback makes the
/// delivered gradients track the true ones (the gap is exactly the ranks' summed error), all ranks get the same bits,
/// the bytes are r(n + m) per matrix, start_iteration is honoured, and a zero gradient does not stall the iteration.
/// </summary>
public class PowerSgdReduceTests
{
    const int N = 24, M = 40;

    /// <summary>A 24×40 matrix (compressed at r ≤ 15), a conv kernel [8, 4, 3, 3] (8×36), a bias, and a 2×3 matrix
    /// where compression does not pay (sent exactly).</summary>
    static GradientBucket Bucket() => new(0, [Tensor.Zeros(N, M), Tensor.Zeros(8, 4, 3, 3), Tensor.Zeros(8), Tensor.Zeros(2, 3)]);

    static Span<float> Matrix(GradientBucket b) => b.Of(b.Segments[0]);

    /// <summary>Σ_i σ_i·u_i·v_iᵀ with orthonormal u, v drawn from <paramref name="seed"/>.</summary>
    static float[] WithSingularValues(double[] sigma, ulong seed)
    {
        int k = sigma.Length;
        var u = new float[k * N];
        var v = new float[k * M];
        var g = new Generator(seed);
        g.FillNormal(u); g.FillNormal(v);
        LowRank.Orthonormalise(u, k, N);
        LowRank.Orthonormalise(v, k, M);
        var a = new float[N * M];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < N; j++) u[i * N + j] *= (float)sigma[i];
        LowRank.AddProduct(u, v, k, N, M, 1, a);
        return a;
    }

    static double Norm(ReadOnlySpan<float> a)
    {
        double s = 0;
        foreach (var x in a) s += (double)x * x;
        return Math.Sqrt(s);
    }

    static double Distance(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        return Math.Sqrt(s);
    }

    /// <summary>Rank <paramref name="rank"/>'s share of <paramref name="total"/>: weights (r + 1)/Σ, summing to the total.</summary>
    static float[] Share(float[] total, int rank, int size)
    {
        float w = (rank + 1f) / (size * (size + 1) / 2f);
        return total.Select(x => x * w).ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void A_rank_r_sum_is_recovered_and_the_exact_segments_are_the_exact_sum(int ranks)
    {
        var target = WithSingularValues([5, 2], 7);
        InProcessGroup.Run(ranks, g =>
        {
            var c = new PowerSgdReduce(new PowerSgdOptions { Rank = 2 }, seed: 11);
            for (int step = 0; step < 3; step++)
            {
                var b = Bucket();
                new Generator((ulong)(10 * step + g.Rank)).FillNormal(b.Values);
                var exact = (float[])b.Values.Clone();
                g.AllReduce<float>(exact, ReduceOp.Sum);
                Share(target, g.Rank, g.Size).CopyTo(Matrix(b));
                c.Reduce(b, g);
                Assert.True(Distance(Matrix(b), target) <= 1e-5 * Norm(target), $"step {step}: ‖M − M̂‖ = {Distance(Matrix(b), target)}");
                // The bias and the 2×3 matrix travel exactly.
                for (int s = 2; s < 4; s++) Assert.Equal(exact.AsSpan(b.Segments[s].Offset, b.Segments[s].Numel).ToArray(), b.Of(b.Segments[s]).ToArray());
            }
        });
    }

    [Fact]
    public void Warm_start_converges_to_the_best_rank_r_approximation_and_a_cold_start_does_not()
    {
        double[] sigma = [10, 6, 3, 2.5, 1, 0.5];
        var a = WithSingularValues(sigma, 5);
        double best = Math.Sqrt(sigma.Skip(2).Sum(s => s * s));
        double Error(bool warm, int steps)
        {
            var c = new PowerSgdReduce(new PowerSgdOptions { Rank = 2, WarmStart = warm, ErrorFeedback = false }, seed: 1);
            double e = 0;
            for (int t = 0; t < steps; t++)
            {
                var b = Bucket();
                a.CopyTo(Matrix(b));
                c.Reduce(b, new SingleProcessGroup());
                e = Distance(Matrix(b), a);
            }
            return e;
        }
        // Subspace iteration converges at rate (σ₃/σ₂)^t = 0.5^t.
        Assert.True(Error(warm: true, 20) < 1.001 * best, $"warm start: {Error(true, 20)}, optimum {best}");
        Assert.True(Error(warm: false, 20) > 1.2 * best, $"cold start: {Error(false, 20)}, optimum {best}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Error_feedback_keeps_the_delivered_sum_within_the_ranks_error_of_the_true_sum(int ranks)
    {
        const int steps = 80;
        var gaps = new Dictionary<bool, double>();
        foreach (bool feedback in new[] { true, false })
            InProcessGroup.Run(ranks, g =>
            {
                var c = new PowerSgdReduce(new PowerSgdOptions { Rank = 2, ErrorFeedback = feedback }, seed: 3);
                var delivered = new double[N * M];
                var truth = new double[N * M];
                double stepNorm = 0;
                var b = Bucket();
                for (int t = 0; t < steps; t++)
                {
                    // A fresh random rank-4 gradient every step, different on every rank: rank 2 misses about a third.
                    var grad = WithSingularValues([4, 3, 2, 1], (ulong)(1000 * t + g.Rank));
                    var all = (float[])grad.Clone();
                    g.AllReduce<float>(all, ReduceOp.Sum);
                    for (int i = 0; i < all.Length; i++) truth[i] += all[i];
                    stepNorm = Norm(all);
                    Array.Clear(b.Values);
                    grad.CopyTo(Matrix(b));
                    c.Reduce(b, g);
                    for (int i = 0; i < all.Length; i++) delivered[i] += Matrix(b)[i];
                }
                var gap = truth.Zip(delivered, (x, y) => (float)(x - y)).ToArray();
                if (feedback)
                {
                    // Σ_t (true − delivered) = Σ_ranks e, exactly up to float rounding.
                    var owed = (float[])c.ErrorOf(b)[0].Clone();
                    g.AllReduce<float>(owed, ReduceOp.Sum);
                    Assert.True(Distance(gap, owed) <= 1e-3 * Norm(owed), $"gap {Norm(gap)} vs owed {Norm(owed)}: off by {Distance(gap, owed)}");
                    Assert.True(Norm(gap) < 4 * stepNorm, $"the gap {Norm(gap)} must stay bounded (one step: {stepNorm})");
                }
                if (g.Rank == 0) lock (gaps) gaps[feedback] = Norm(gap);
            });
        Assert.True(gaps[true] < 0.5 * gaps[false], $"with error feedback {gaps[true]}, without {gaps[false]}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Every_rank_gets_the_same_bits(int ranks)
    {
        InProcessGroup.Run(ranks, g =>
        {
            var c = new PowerSgdReduce(new PowerSgdOptions { Rank = 3 }, seed: 2);
            var b = Bucket();
            for (int step = 0; step < 3; step++)
            {
                new Generator((ulong)(7 * step + g.Rank)).FillNormal(b.Values);
                c.Reduce(b, g);
                var all = new float[b.Values.Length * ranks];
                g.AllGather<float>(b.Values, all);
                for (int r = 1; r < ranks; r++) Assert.Equal(all.AsSpan(0, b.Values.Length).ToArray(), all.AsSpan(r * b.Values.Length, b.Values.Length).ToArray());
            }
        });
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Bytes_are_r_times_n_plus_m_per_matrix_and_the_rest_exact(int ranks)
    {
        const int r = 2;
        InProcessGroup.Run(ranks, g =>
        {
            var c = new PowerSgdReduce(new PowerSgdOptions { Rank = r }, seed: 2);
            var b = Bucket();
            new Generator((ulong)g.Rank).FillNormal(b.Values);
            long wire0 = g.Traffic.WireBytes, payload0 = g.Traffic.PayloadBytes, calls0 = g.Traffic.Calls;
            c.Reduce(b, g);
            long wire = g.Traffic.WireBytes - wire0, payload = g.Traffic.PayloadBytes - payload0;
            Assert.Equal(2, g.Traffic.Calls - calls0);
            long floats = r * (N + M) + r * (8 + 36) + 8 + 6;
            Assert.Equal(floats * sizeof(float), payload);
            double share = (double)floats / b.Values.Length;
            if (ranks > 1) Assert.Equal(share, wire / Traffic.AllReduceWire(b.Values.Length * sizeof(float), ranks), 3);
            var figures = new Dictionary<string, object>();
            c.CollectEpochFigures(figures);
            Assert.Equal(Math.Round(1 / share, 4), (double)figures["compress_ratio"]);
            Assert.InRange((double)figures["powersgd_relative_error"], 0.3, 1.0);
        });
    }

    [Fact]
    public void Start_iteration_reduces_exactly_before_it_and_accumulates_no_error()
    {
        InProcessGroup.Run(2, g =>
        {
            var late = new PowerSgdReduce(new PowerSgdOptions { StartIteration = 3 }, seed: 4);
            var fresh = new PowerSgdReduce(new PowerSgdOptions(), seed: 4);
            var b = Bucket();
            for (int step = 0; step < 4; step++)
            {
                new Generator((ulong)(10 * step + g.Rank)).FillNormal(b.Values);
                var input = (float[])b.Values.Clone();
                var exact = (float[])input.Clone();
                g.AllReduce<float>(exact, ReduceOp.Sum);
                long payload0 = g.Traffic.PayloadBytes;
                late.Reduce(b, g);
                if (step < 3)
                {
                    Assert.Equal(exact, b.Values);
                    Assert.Equal((long)exact.Length * sizeof(float), g.Traffic.PayloadBytes - payload0);
                    Assert.All(late.ErrorOf(b), e => Assert.All(e, v => Assert.Equal(0f, v)));
                    continue;
                }
                // The first compressed step is the first step of a compressor that never waited.
                Assert.True(g.Traffic.PayloadBytes - payload0 < exact.Length * sizeof(float) / 2);
                var other = Bucket();
                input.CopyTo(other.Values, 0);
                fresh.Reduce(other, g);
                Assert.Equal(other.Values, b.Values);
            }
        });
    }

    [Fact]
    public void A_zero_gradient_gives_zero_and_does_not_stall_the_warm_start()
    {
        var target = WithSingularValues([3, 1], 9);
        var c = new PowerSgdReduce(new PowerSgdOptions { Rank = 2 }, seed: 5);
        var b = Bucket();
        c.Reduce(b, new SingleProcessGroup());
        Assert.All(b.Values, v => Assert.Equal(0f, v));
        Array.Clear(b.Values);
        target.CopyTo(Matrix(b));
        c.Reduce(b, new SingleProcessGroup());
        Assert.True(Distance(Matrix(b), target) <= 1e-5 * Norm(target), $"after a zero step: ‖M − M̂‖ = {Distance(Matrix(b), target)}");
    }

    [Fact]
    public void Bad_options_are_named_by_key()
    {
        Assert.Equal("rank", Assert.Throws<Frugal.Options.OptionException>(() => new PowerSgdReduce(new PowerSgdOptions { Rank = 0 })).Key);
        Assert.Equal("start_iteration", Assert.Throws<Frugal.Options.OptionException>(() => new PowerSgdOptions { StartIteration = -1 }.Validate()).Key);
    }
}
