using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Methods.Compression;
using Frugal.Options;
using static Frugal.Tests.Distributed.Compression.CompressorHarness;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>
/// Lognormal stochastic pruning of weight gradients with a sparse all-gathered payload: unbiased, at the target sparsity
/// on lognormal data, with the KS figure telling lognormal from non-lognormal gradients, and with a payload whose size
/// is the documented encoding's.
/// </summary>
public class SparsePruneReduceTests
{
    /// <summary>α of each segment as the compressor computes it when the segment fits in one fit sample.</summary>
    static float[] Thresholds(float[] x, int[] sizes, double sparsity)
    {
        var alphas = new float[sizes.Length];
        for (int s = 0, a = 0; s < sizes.Length; a += sizes[s++])
        {
            var fit = GradientStatistics.FitSample(x.AsSpan(a, sizes[s]), false);
            alphas[s] = (float)Frugal.Methods.Compression.LogNormal.ThresholdForSparsity(sparsity, fit.Mu, fit.Sigma, fit.ZeroFraction);
        }
        return alphas;
    }

    static float[] Gradient(int rank, int[] sizes, int seed) =>
        sizes.SelectMany((n, s) => LogNormalValues(n, -8 + s - rank, 1.2 + 0.3 * s, 0.1, 100 * seed + 10 * rank + s)).ToArray();

    [Fact]
    public void Pruning_is_unbiased_and_sparse()
    {
        const int ranks = 3, steps = 400;
        int[] sizes = [400, 150];
        Func<int, float[]> input = r => Gradient(r, sizes, 1);
        var exact = ExactSum(ranks, input);
        // Var T(x) = |x|·α − x² below α, 0 above.
        var variance = new double[exact.Length];
        for (int r = 0; r < ranks; r++)
        {
            var x = input(r);
            var alpha = Thresholds(x, sizes, 0.9);
            for (int i = 0, s = 0; i < x.Length; i++)
            {
                if (i >= sizes.Take(s + 1).Sum()) s++;
                double a = Math.Abs(x[i]);
                if (a < alpha[s]) variance[i] += a * alpha[s] - a * a;
            }
        }
        var figures = new Dictionary<string, object>();
        var results = Run(ranks, () => new SparsePruneReduce(new SparsePruneReduceOptions(), seed: 3), sizes, (r, _) => input(r), steps,
                          after: (g, c) => { if (g.Rank == 0) c.CollectEpochFigures(figures); });
        for (int i = 0; i < exact.Length; i++)
        {
            double mean = results.Average(step => (double)step[0][i]);
            if (variance[i] == 0) { Assert.Equal(exact[i], mean, 1e-6 * Math.Abs(exact[i]) + 1e-12); continue; }
            double z = Math.Abs(mean - exact[i]) / Math.Sqrt(variance[i] / steps);
            Assert.True(z < 5, $"element {i}: the mean over {steps} steps is {z:0.0} standard errors from the exact sum");
        }
        Assert.InRange((double)figures["prune_sparsity"], 0.88, 0.92);
        double zerosInOneStep = results[0][0].Count(v => v == 0) / (double)exact.Length;
        Assert.True(zerosInOneStep > 0.65, $"only {zerosInOneStep:P0} of one step's sum is zero (3 ranks at 90% sparsity)");
    }

    [Fact]
    public void The_target_is_met_on_lognormal_gradients_and_the_ks_figure_flags_others()
    {
        int[] sizes = [20000, 20000];
        // p0: lognormal (σ = 1.5, 20% zeros); p1: two lognormal modes e^±3 apart, far from one lognormal.
        float[] Input(int r)
        {
            var mixture = LogNormalValues(20000, 0, 0.3, 0, 7 + r).Select((v, i) => v * MathF.Exp(i % 2 == 0 ? 3 : -3)).ToArray();
            return LogNormalValues(20000, -9, 1.5, 0.2, r).Concat(mixture).ToArray();
        }
        Dictionary<string, object> Figures(GradPruneThreshold threshold)
        {
            var figures = new Dictionary<string, object>();
            Run(2, () => new SparsePruneReduce(new SparsePruneReduceOptions { Threshold = threshold }), sizes, (r, _) => Input(r),
                after: (g, c) => { if (g.Rank == 0) c.CollectEpochFigures(figures); });
            return figures;
        }
        double Layer(Dictionary<string, object> f, string name, string key) => (double)((Dictionary<string, object>)((Dictionary<string, object>)f["prune_layers"])[name])[key];

        var lognormal = Figures(GradPruneThreshold.LogNormal);
        Assert.InRange(Layer(lognormal, "p0", "sparsity"), 0.89, 0.91);
        Assert.True(Layer(lognormal, "p0", "ks") < 0.03, $"KS of a lognormal gradient: {Layer(lognormal, "p0", "ks"):0.000}");
        Assert.True(Layer(lognormal, "p1", "ks") > 0.2, $"KS of a two-mode gradient: {Layer(lognormal, "p1", "ks"):0.000}");
        Assert.InRange(Layer(lognormal, "p0", "cos_meas"), Layer(lognormal, "p0", "cos_pred") - 0.05, 1);

        var empirical = Figures(GradPruneThreshold.Empirical);
        Assert.InRange(Layer(empirical, "p1", "sparsity"), 0.89, 0.91);
    }

    /// <summary>The payload's documented size: 4 bytes per segment's α, then per survivor the LEB128 length of
    /// 3·gap + tag and 4 value bytes if it was kept as is.</summary>
    static long PayloadBytes(float[] x, float[] pruned, int[] sizes, float[] alphas)
    {
        long bytes = 4L * sizes.Length;
        int previous = -1;
        for (int i = 0, s = 0; i < x.Length; i++)
        {
            while (i >= sizes.Take(s + 1).Sum()) s++;
            if (pruned[i] == 0) continue;
            bool kept = !(Math.Abs(x[i]) < alphas[s]);
            ulong v = 3UL * (ulong)(i - previous - 1) + (kept ? 0UL : 1UL);
            previous = i;
            do { bytes++; v >>= 7; } while (v > 0);
            if (kept) bytes += 4;
        }
        return bytes;
    }

    [Fact]
    public void The_payload_has_the_documented_size_and_the_wire_carries_the_other_ranks_payloads()
    {
        int[] sizes = [3000, 1000, 17];
        var x = Gradient(0, sizes, 2);
        var one = new Dictionary<string, object>();
        var pruned = Run(1, () => new SparsePruneReduce(new SparsePruneReduceOptions()), sizes, (_, _) => x,
                         after: (g, c) => c.CollectEpochFigures(one))[0][0];
        long payload = PayloadBytes(x, pruned, sizes, Thresholds(x, sizes, 0.9));
        Assert.Equal(4 + payload, (long)one["compress_payload_bytes"]);
        Assert.InRange(payload / (4.0 * x.Length), 0.02, 0.1);

        const int ranks = 4;
        var figures = new Dictionary<string, object>[ranks];
        var wire = new long[ranks];
        Run(ranks, () => new SparsePruneReduce(new SparsePruneReduceOptions()), sizes, (r, _) => Gradient(r, sizes, 2),
            after: (g, c) => { wire[g.Rank] = g.Traffic.WireBytes; c.CollectEpochFigures(figures[g.Rank] = []); });
        var payloads = figures.Select(f => (long)f["compress_payload_bytes"]).ToArray();
        for (int r = 0; r < ranks; r++)
        {
            Assert.Equal(payloads.Sum() - payloads[r], wire[r]);           // the others' counts and payloads
            Assert.Equal(wire[r], (long)figures[r]["compress_wire_bytes"]);
            double exactWire = Traffic.AllReduceWire(4L * x.Length, ranks);
            Assert.Equal(exactWire / wire[r], (double)figures[r]["compress_wire_ratio"], 1e-9);
            Assert.True(wire[r] < 0.25 * exactWire, $"rank {r}: {wire[r]} bytes on the wire against {exactWire} for fp32");
        }
    }

    [Fact]
    public void Error_feedback_undoes_the_bias_of_hard_thresholding()
    {
        const int ranks = 2, steps = 50;
        int[] sizes = [500];
        Func<int, float[]> input = r => Gradient(r, sizes, 4);
        var exact = ExactSum(ranks, input);
        double norm = Math.Sqrt(exact.Sum(v => v * v));
        double Accumulated(bool feedback, int count = steps)
        {
            var options = new SparsePruneReduceOptions { Mode = GradPruneMode.Deterministic, Threshold = GradPruneThreshold.Empirical, ErrorFeedback = feedback };
            var results = Run(ranks, () => new SparsePruneReduce(options), sizes, (r, _) => input(r), count);
            return Math.Sqrt(exact.Select((s, i) => results.Sum(step => (double)step[0][i]) - count * s).Sum(e => e * e));
        }
        double without = Accumulated(false), with = Accumulated(true), withTwiceAsLong = Accumulated(true, 2 * steps);
        // Without feedback the same entries are dropped every step: the error grows as steps·‖dropped‖. With it, the
        // accumulated error is minus the last residuals, which hold the small entries of about 1/(1 − s) steps.
        Assert.True(without > 0.3 * steps * norm, $"hard thresholding without feedback: accumulated error {without:g4}, ‖sum‖ {norm:g4}");
        Assert.True(with < 0.2 * without, $"accumulated error over {steps} steps: {with:g4} with feedback, {without:g4} without");
        Assert.True(withTwiceAsLong < 1.3 * with, $"with feedback: {with:g4} after {steps} steps, {withTwiceAsLong:g4} after {2 * steps}: not bounded");
    }

    [Fact]
    public void Bad_options_name_their_key()
    {
        Assert.Equal("sparsity", Assert.Throws<OptionException>(() => new SparsePruneReduceOptions { Sparsity = 1 }.Validate()).Key);
        Assert.Equal("sparsity", Assert.Throws<OptionException>(() => new SparsePruneReduce(new SparsePruneReduceOptions { Sparsity = double.NaN })).Key);
        Assert.Equal("threshold", Assert.Throws<OptionException>(() => new SparsePruneReduceOptions { Threshold = (GradPruneThreshold)9 }.Validate()).Key);
        Assert.Equal("fit_sample_size", Assert.Throws<OptionException>(() => new SparsePruneReduceOptions { FitSampleSize = 8 }.Validate()).Key);
        Assert.Equal("ks_interval", Assert.Throws<OptionException>(() => new SparsePruneReduceOptions { KsInterval = 0 }.Validate()).Key);
        Assert.Equal("mode", Assert.Throws<OptionException>(() => new SparsePruneReduceOptions { Mode = GradPruneMode.TopK }.Validate()).Key);
        var e = Assert.Throws<OptionException>(() => new SparsePruneReduceOptions { ErrorFeedback = true }.Validate());
        Assert.Equal("error_feedback", e.Key);
        Assert.Contains("mode deterministic and threshold empirical", e.Reason);
        Assert.Equal("error_feedback", Assert.Throws<OptionException>(() =>
            new SparsePruneReduceOptions { ErrorFeedback = true, Mode = GradPruneMode.Deterministic }.Validate()).Key);
    }
}
