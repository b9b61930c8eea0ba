using Frugal.Backends;
using Frugal.Backends.Cpu;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>The prune kernels on every device: against the scalar reference, unbiasedness, top-k counts, edge cases.</summary>
public class PruningKernelTests
{
    static float[] Values(int n, ulong seed, bool withNaN)
    {
        var v = LogNormalSamples.Make(n, -3, 1.5, seed, zeroFraction: 0.1);
        if (n > 3) { v[2] = -0f; if (withNaN) v[1] = float.NaN; }
        return v;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Kernels_match_the_scalar_reference_on_odd_lengths_and_any_thread_split(string device)
    {
        var d = TestDevices.Parse(device);
        const float alpha = 0.05f;
        const ulong seed = 1234;
        uint key = CounterRandom.Key(seed);
        // 300_001 elements cross Threading's parallel threshold, so chunks start at non-zero offsets.
        // 24 and 4097 reach both vector bodies (16 lanes where AVX-512 runs, then Vector<float>) and a block boundary.
        foreach (var n in new[] { 0, 1, 7, 24, 33, 1000, 4097, 300_001 })
        foreach (var withNaN in new[] { false, true })
        {
            var x = Values(n, (ulong)n + 1, withNaN);
            var t = Tensor.FromArray(x, new Shape(n), d);
            foreach (var kind in new[] { PruneKind.Stochastic, PruneKind.Threshold })
            {
                var (y, st) = kind == PruneKind.Stochastic ? t.PruneStochastic(alpha, seed) : t.PruneThreshold(alpha);
                var got = y.ToArray();
                long zeros = 0;
                double dot = 0, xx = 0, yy = 0;
                for (int i = 0; i < n; i++)
                {
                    float want = CpuBackend.PruneScalar(kind, x[i], alpha, key, i);
                    if (!want.Equals(got[i])) Assert.Fail($"{kind} n={n} [{i}]: {got[i]}, reference {want} (x = {x[i]})");
                    if (float.IsNaN(want)) continue;
                    if (want == 0) zeros++;
                    dot += x[i] * want; xx += x[i] * x[i]; yy += want * want;
                }
                int nan = x.Count(float.IsNaN);
                Assert.Equal(nan, got.Count(float.IsNaN));     // NaN is never pruned away
                Assert.Equal(zeros, st.Zeros);
                Assert.Equal(n, st.Elements);
                if (nan == 0)
                {
                    // Float accumulation per 4096-block: relative error well under 1e-4 for these sums of positives.
                    Assert.True(Math.Abs(st.Dot - dot) <= 1e-4 * dot + 1e-12, $"{kind} n={n}: Σxy {st.Dot}, expected {dot}");
                    Assert.True(Math.Abs(st.InputSquares - xx) <= 1e-4 * xx + 1e-12, $"{kind} n={n}: Σx² {st.InputSquares}, expected {xx}");
                    Assert.True(Math.Abs(st.OutputSquares - yy) <= 1e-4 * yy + 1e-12, $"{kind} n={n}: Σy² {st.OutputSquares}, expected {yy}");
                }
            }
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Stochastic_pruning_is_unbiased_and_thresholding_is_not(string device)
    {
        // 64 values from far below to above α, each repeated in 4000 rows: every copy gets its own uniform (its own
        // index), so the column mean is an average of 4000 independent draws. T(g) ∈ {0, ±α} below α, so its standard
        // deviation is at most α/2 and the mean's is α/(2√4000) = 0.0079α; 0.04α is 5 standard errors per column.
        const int cols = 64, rows = 4000;
        const float alpha = 1f;
        var d = TestDevices.Parse(device);
        var g = new float[cols];
        for (int j = 0; j < cols; j++) g[j] = (j % 2 == 0 ? 1 : -1) * (0.01f + 1.3f * j / cols);
        var x = new float[cols * rows];
        for (int r = 0; r < rows; r++) Array.Copy(g, 0, x, r * cols, cols);
        var t = Tensor.FromArray(x, new Shape(rows, cols), d);
        var sto = t.PruneStochastic(alpha, 99).Pruned.Mean(0).ToArray();
        var det = t.PruneThreshold(alpha).Pruned.Mean(0).ToArray();
        double maxBias = 0;
        for (int j = 0; j < cols; j++)
        {
            Assert.True(Math.Abs(sto[j] - g[j]) < 0.04 * alpha, $"column {j}: mean {sto[j]}, g = {g[j]}");
            maxBias = Math.Max(maxBias, Math.Abs(det[j] - g[j]));
        }
        Assert.True(maxBias > 0.9 * alpha, $"thresholding should be biased below α; largest bias {maxBias}");
        // Surviving small entries are exactly ±α.
        var one = t.PruneStochastic(alpha, 7).Pruned.ToArray();
        Assert.All(one.Where((v, i) => Math.Abs(x[i]) < alpha), v => Assert.True(v == 0 || Math.Abs(v) == alpha, $"{v}"));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Same_seed_same_result_other_seed_other_result_and_zero_threshold_copies(string device)
    {
        var d = TestDevices.Parse(device);
        var x = Tensor.FromArray(LogNormalSamples.Make(5000, 0, 1, 3), new Shape(50, 100), d);
        var a = x.PruneStochastic(1f, 5).Pruned.ToArray();
        Assert.Equal(a, x.PruneStochastic(1f, 5).Pruned.ToArray());
        Assert.Equal(a, x.To(Device.Cpu).PruneStochastic(1f, 5).Pruned.ToArray());
        Assert.NotEqual(a, x.PruneStochastic(1f, 6).Pruned.ToArray());
        Assert.Equal(x.ToArray(), x.PruneStochastic(0f, 5).Pruned.ToArray());
        Assert.Equal(x.ToArray(), x.PruneThreshold(0f).Pruned.ToArray());
        Assert.Equal(new Shape(50, 100), x.PruneThreshold(1f).Pruned.Shape);
        Assert.Contains("threshold", Assert.Throws<ArgumentException>(() => x.PruneStochastic(-1f, 0)).Message);
        Assert.Contains("threshold", Assert.Throws<ArgumentException>(() => x.PruneThreshold(float.PositiveInfinity)).Message);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Top_k_keeps_exactly_the_k_largest_magnitudes(string device)
    {
        var d = TestDevices.Parse(device);
        int n = 100_003;
        var x = LogNormalSamples.Make(n, -5, 2, 8);
        var t = Tensor.FromArray(x, new Shape(n), d);
        var order = x.Select(Math.Abs).OrderDescending().ToArray();
        foreach (var k in new long[] { 1, 2, 17, 15_000, 50_001, n - 1 })
        {
            var (y, st) = t.PruneTopK(k);
            var v = y.ToArray();
            Assert.Equal(k, v.Count(e => e != 0));
            Assert.Equal(n - k, st.Zeros);
            float kth = order[k - 1];
            for (int i = 0; i < n; i++)
                if (v[i] != (Math.Abs(x[i]) >= kth ? x[i] : 0)) Assert.Fail($"k={k} [{i}]: {v[i]} for x = {x[i]}, k-th magnitude {kth}");
        }
        Assert.Equal(x, t.PruneTopK(n).Pruned.ToArray());
        Assert.All(t.PruneTopK(0).Pruned.ToArray(), e => Assert.Equal(0, e));
        // Ties at the k-th magnitude are all kept.
        var ties = Tensor.FromArray([3f, -2f, 2f, 1f, 2f], new Shape(5), d);
        Assert.Equal([3f, -2f, 2f, 0f, 2f], ties.PruneTopK(2).Pruned.ToArray());
        Assert.Throws<ArgumentException>(() => t.PruneTopK(-1));
    }
}
