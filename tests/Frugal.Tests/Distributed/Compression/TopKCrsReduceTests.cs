using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>
/// topk-crs against its definition (METHODS.md §2, Distributed Top-k CRS): S from weight norms alone is the same on
/// every rank (and the hash check says so, or names the layer), the sampled gradients come back as the exact sum on S and
/// zero elsewhere, the bytes shrink by exactly the dropped slices, the turnover of S is measured, and with forward Top-k
/// by the same weight norms the exchange loses nothing.
/// </summary>
public class TopKCrsReduceTests
{
    static readonly TopKCrsReduceOptions Options = new() { Keep = 0.5, MinK = 4, CheckEvery = 0 };

    /// <summary>Stem "0" (3 channels), convs "2" (n = 16) and "4" (n = 32), hidden linear "6" (n = 384), classifier "8":
    /// the default layers are 2, 4 and 6. Input [B, 3, 4, 4].</summary>
    static Sequential Model(ulong seed = 1)
    {
        var g = new Generator(seed);
        return new Sequential(
            new Conv2d(3, 16, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(16, 32, 3, padding: 1, generator: g), new ReLU(),
            new Conv2d(32, 24, 3, padding: 1, bias: false, generator: g), new Flatten(),
            new Linear(24 * 4 * 4, 20, generator: g), new ReLU(),
            new Linear(20, 10, generator: g));
    }

    static readonly string[] Sampled = ["2", "4", "6"];

    /// <summary>Backward's order: two buckets, the later layers first.</summary>
    static GradientBucket[] Buckets(Module model)
    {
        var ps = model.Parameters().Reverse().ToList();
        return [new GradientBucket(0, ps.Take(5).ToList()), new GradientBucket(1, ps.Skip(5).ToList())];
    }

    static void FillRandom(GradientBucket b, ulong seed) => new Generator(seed).FillNormal(b.Values);

    /// <summary>The k channels of largest ‖W[:,c]‖_F, computed here from the definition (sorted).</summary>
    static int[] TopChannels(Tensor weight, int k)
    {
        var w = weight.ToArray();
        int rows = weight.Shape[0], n = weight.Shape[1], inner = weight.Numel / (rows * n);
        var norms = new double[n];
        for (int o = 0; o < rows; o++)
            for (int c = 0; c < n; c++)
                for (int t = 0; t < inner; t++) { double v = w[(o * n + c) * inner + t]; norms[c] += v * v; }
        return Enumerable.Range(0, n).OrderByDescending(c => norms[c]).ThenBy(c => c).Take(k).Order().ToArray();
    }

    /// <summary>Scales the first channel outside the top <paramref name="k"/> by 100, so it enters S and the weakest leaves.</summary>
    static void LiftIntoS(Tensor weight, int k)
    {
        int rows = weight.Shape[0], n = weight.Shape[1], inner = weight.Numel / (rows * n);
        int outside = Enumerable.Range(0, n).Except(TopChannels(weight, k)).First();
        var v = weight.ToArray();
        for (int o = 0; o < rows; o++)
            for (int t = 0; t < inner; t++) v[(o * n + outside) * inner + t] *= 100;
        weight.CopyFrom(Tensor.FromArray(v, weight.Shape));
    }

    static Tensor WeightOf(Module model, string layer) => model.NamedParameters().First(p => p.Name == layer + ".weight").Parameter;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Sampled_gradients_are_the_exact_sum_on_S_and_zero_elsewhere_and_bytes_shrink_by_the_dropped_slices(int ranks)
    {
        InProcessGroup.Run(ranks, g =>
        {
            var model = Model();
            var compressor = new TopKCrsReduce(Options, model);
            var buckets = Buckets(model);
            var exact = Buckets(model);
            long dropped = 0, total = buckets.Sum(b => b.Values.Length);
            foreach (var layer in Sampled)
            {
                var w = WeightOf(model, layer);
                int n = w.Shape[1], k = SamplingMath.KeepCount(n, Options.Keep, Options.MinK);
                Assert.True(k < n, $"layer {layer}: k = {k} must be below n = {n} for the test to mean anything");
                dropped += (long)w.Numel / n * (n - k);
            }
            for (int i = 0; i < buckets.Length; i++)
            {
                FillRandom(buckets[i], (ulong)(100 * g.Rank + i));
                buckets[i].Values.CopyTo(exact[i].Values, 0);
            }

            long wire0 = g.Traffic.WireBytes, payload0 = g.Traffic.PayloadBytes;
            foreach (var b in exact) new ExactReduce().Reduce(b, g);
            long exactWire = g.Traffic.WireBytes - wire0, exactPayload = g.Traffic.PayloadBytes - payload0;
            wire0 = g.Traffic.WireBytes; payload0 = g.Traffic.PayloadBytes;
            foreach (var b in buckets) compressor.Reduce(b, g);
            long wire = g.Traffic.WireBytes - wire0, payload = g.Traffic.PayloadBytes - payload0;

            double share = (double)(total - dropped) / total;
            Assert.Equal(share, (double)payload / exactPayload, 12);
            if (ranks > 1) Assert.Equal(share, (double)wire / exactWire, 3);
            else Assert.Equal(0, wire);
            // About (share of parameters in sampled layers)·(1 − keep) saved.
            Assert.InRange(1 - share, 0.3, 0.5);

            for (int i = 0; i < buckets.Length; i++)
                foreach (var seg in buckets[i].Segments)
                {
                    var got = buckets[i].Of(seg).ToArray();
                    var want = exact[i].Of(seg).ToArray();
                    string? layer = Sampled.FirstOrDefault(l => ReferenceEquals(WeightOf(model, l), seg.Parameter));
                    if (layer == null) { Assert.Equal(want, got); continue; }
                    int rows = seg.Shape[0], n = seg.Shape[1], inner = seg.Numel / (rows * n);
                    var s = TopChannels(seg.Parameter, SamplingMath.KeepCount(n, Options.Keep, Options.MinK)).ToHashSet();
                    for (int o = 0; o < rows; o++)
                        for (int c = 0; c < n; c++)
                            for (int t = 0; t < inner; t++)
                            {
                                int at = (o * n + c) * inner + t;
                                Assert.Equal(s.Contains(c) ? want[at] : 0f, got[at]);
                            }
                }

            var figures = new Dictionary<string, object>();
            compressor.CollectEpochFigures(figures);
            Assert.Equal(Math.Round(1 / share, 4), (double)figures["compress_ratio"]);
            Assert.Equal(dropped * sizeof(float), (long)figures["compress_saved_bytes"]);
        });
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void The_hash_check_passes_on_identical_weights_and_names_the_layer_whose_weights_differ(int ranks)
    {
        InProcessGroup.Run(ranks, g =>
        {
            var model = Model();
            var buckets = Buckets(model);
            var compressor = new TopKCrsReduce(Options with { CheckEvery = 1 }, model);
            foreach (var b in buckets) compressor.VerifySelection(b, g);
            foreach (var b in buckets) { FillRandom(b, (ulong)g.Rank); compressor.Reduce(b, g); }

            // The last rank lifts a channel of layer 4 outside S into it: its S differs there only.
            if (g.Rank == ranks - 1) LiftIntoS(WeightOf(model, "4"), 16);
            var bucketOf4 = buckets.Single(b => b.Segments.Any(s => ReferenceEquals(s.Parameter, WeightOf(model, "4"))));
            foreach (var b in buckets.Where(b => b != bucketOf4)) compressor.VerifySelection(b, g);
            var e = Assert.Throws<DistributedException>(() => compressor.VerifySelection(bucketOf4, g));
            Assert.Contains("layer '4'", e.Message);
            Assert.Contains($"rank {ranks - 1}", e.Message);
            // Reduce runs the same check every check_every reduces.
            Assert.Throws<DistributedException>(() => compressor.Reduce(bucketOf4, g));
        });
    }

    [Fact]
    public void Turnover_is_zero_while_the_weights_stand_still_and_counts_the_channels_that_enter_S()
    {
        var model = Model();
        var compressor = new TopKCrsReduce(Options, model);
        var buckets = Buckets(model);
        var g = new SingleProcessGroup();
        for (int step = 0; step < 3; step++)
            foreach (var b in buckets) { FillRandom(b, (ulong)step); compressor.Reduce(b, g); }
        var figures = new Dictionary<string, object>();
        compressor.CollectEpochFigures(figures);
        Assert.Equal(0.0, (double)figures["topk_crs_turnover"]);
        var layers = (Dictionary<string, object>)figures["topk_crs_layers"];
        Assert.Equal(Sampled, layers.Keys.Order());
        Assert.Equal(16, ((Dictionary<string, object>)layers["4"])["k"]);

        // One channel of layer 4 rises into S and pushes the weakest out: 1 of its 16 changed.
        LiftIntoS(WeightOf(model, "4"), 16);
        foreach (var b in buckets) compressor.Reduce(b, g);
        figures.Clear();
        compressor.CollectEpochFigures(figures);
        layers = (Dictionary<string, object>)figures["topk_crs_layers"];
        Assert.Equal(1.0 / 16, (double)((Dictionary<string, object>)layers["4"])["turnover"], 4);
        Assert.Equal(0.0, (double)((Dictionary<string, object>)layers["2"])["turnover"]);
        Assert.Equal(1.0 / 16 / 3, (double)figures["topk_crs_turnover"], 4);
    }

    [Fact]
    public void With_forward_topk_by_weight_norms_on_the_same_layers_the_exchange_is_exact()
    {
        var approx = new ApproxOptions { Sampler = SamplerKind.TopK, Keep = 0.5, MinK = 4, Score = ApproxScore.Weights };
        InProcessGroup.Run(2, g =>
        {
            var model = Model();
            new CrsApproximation(approx, seed: 3).Attach(model);
            Assert.IsType<ApproxConv2d>(model[2]);
            var compressor = new TopKCrsReduce(TopKCrsReduceOptions.Matching(approx) with { CheckEvery = 1 }, model);
            var x = Tensor.Randn(new Shape(6, 3, 4, 4), new Generator(10 + (ulong)g.Rank));
            model.Call(x).CrossEntropy([0, 1, 2, 3, 4, 5]).Backward();
            var buckets = Buckets(model);
            var exact = Buckets(model);
            for (int i = 0; i < buckets.Length; i++)
                foreach (var s in buckets[i].Segments)
                {
                    var grad = s.Parameter.Grad!.ToArray();
                    for (int t = 0; t < grad.Length; t++) grad[t] /= g.Size;
                    grad.CopyTo(buckets[i].Of(s));
                    grad.CopyTo(exact[i].Of(s));
                }
            long before = g.Traffic.PayloadBytes;
            foreach (var b in buckets) compressor.Reduce(b, g);
            long sent = g.Traffic.PayloadBytes - before;
            before = g.Traffic.PayloadBytes;
            foreach (var b in exact) new ExactReduce().Reduce(b, g);
            Assert.True(sent < 0.75 * (g.Traffic.PayloadBytes - before), "the exchange must send less than the exact one");
            for (int i = 0; i < buckets.Length; i++) Assert.Equal(exact[i].Values, buckets[i].Values);
        });
    }

    [Fact]
    public void Bad_options_are_named_by_key()
    {
        Assert.Equal("keep", Assert.Throws<Frugal.Options.OptionException>(() => new TopKCrsReduceOptions { Keep = 0 }.Validate()).Key);
        Assert.Equal("keep", Assert.Throws<Frugal.Options.OptionException>(() => new TopKCrsReduceOptions { Keep = double.NaN }.Validate()).Key);
        Assert.Equal("min_k", Assert.Throws<Frugal.Options.OptionException>(() => new TopKCrsReduceOptions { MinK = 0 }.Validate()).Key);
        Assert.Equal("check_every", Assert.Throws<Frugal.Options.OptionException>(() => new TopKCrsReduceOptions { CheckEvery = -1 }.Validate()).Key);
        var e = Assert.Throws<Frugal.Options.OptionException>(() => new TopKCrsReduce(new TopKCrsReduceOptions { Layers = "5" }, Model()));
        Assert.Equal("layers", e.Key);
        Assert.Contains("'5' is not a conv/linear layer", e.Message);
    }

    [Fact]
    public void Linear_false_samples_the_conv_layers_only()
    {
        var model = Model();
        var compressor = new TopKCrsReduce(Options with { Linear = false }, model);
        foreach (var b in Buckets(model)) compressor.Reduce(b, new SingleProcessGroup());
        var figures = new Dictionary<string, object>();
        compressor.CollectEpochFigures(figures);
        Assert.Equal(["2", "4"], ((Dictionary<string, object>)figures["topk_crs_layers"]).Keys.Order());
    }
}
