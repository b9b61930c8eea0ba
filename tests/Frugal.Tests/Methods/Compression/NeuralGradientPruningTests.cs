using System.Text.Json;
using Frugal.Data;
using Frugal.Methods;
using Frugal.Methods.Compression;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Runs;
using Frugal.Training;

namespace Frugal.Tests.Methods.Compression;

/// <summary>The pruning method in training: a tiny cnn (width 4: conv outputs of 32·4·28·28 = 100k entries) on synthetic images.</summary>
public class NeuralGradientPruningTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-prune-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    // 10 classes keep the loss from collapsing within the few steps a test runs, so the gradients stay typical.
    static readonly ImageDataset Train = SyntheticImages.Make(384, 10, 11);
    static readonly ImageDataset Test = SyntheticImages.Make(100, 10, 12);

    static TrainOptions Options(double prune, GradPruneMode mode = GradPruneMode.Stochastic, GradPruneAllocation alloc = GradPruneAllocation.Uniform,
                                GradPruneSchedule schedule = GradPruneSchedule.Step, GradPruneThreshold threshold = GradPruneThreshold.LogNormal,
                                int epochs = 1, string? outDir = null, int refit = 8) => new()
    {
        Model = "cnn", ModelOptions = new ModelOptions(Width: 4), Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Seed = 5, Out = outDir,
        GradPrune = prune == 0 ? null : new GradPruneOptions { Sparsity = prune, Mode = mode, Allocation = alloc, Schedule = schedule, Threshold = threshold, RefitInterval = refit },
    };

    static Trainer Build(TrainOptions o) => RunBuilder.Build(o, Train, Test);

    static Dictionary<string, Dictionary<string, double>> Layers(EpochMetrics m) =>
        ((Dictionary<string, object>)m.Extra!["grad_layers"]).ToDictionary(
            p => p.Key, p => ((Dictionary<string, object>)p.Value).ToDictionary(q => q.Key, q => Convert.ToDouble(q.Value)));

    /// <summary>Counts zeros in the gradient each hooked layer's output passes down, with hooks registered after the
    /// method's, so they see what the layer's backward GEMMs see.</summary>
    static Func<double> ZeroCounter(Module model, IReadOnlyList<string> names)
    {
        long zeros = 0, total = 0;
        foreach (var (name, m) in model.NamedModules())
            if (names.Contains(name))
                m.RegisterForwardHook((mod, y) =>
                {
                    if (mod.Training && y.RequiresGrad)
                        y.RegisterHook(g => { zeros += g.ToArray().Count(v => v == 0); total += g.Numel; return g; });
                    return y;
                });
        return () => (double)zeros / total;
    }

    [Fact]
    public void Training_prunes_the_hooked_gradients_and_reports_per_layer_figures()
    {
        var t = Build(Options(0.85, outDir: _dir));
        var method = Assert.IsType<NeuralGradientPruning>(Assert.Single(t.Methods));
        Assert.Equal(["0", "3", "7", "10", "15"], method.LayerNames);          // every conv/linear but the classifier (17)
        var seen = ZeroCounter(t.Model, method.LayerNames);
        var m = Assert.Single(t.Run(1));
        // The backward GEMMs really see the pruned gradients: this fails if the method were silently off (≈ 0 zeros
        // then: the conv outputs feed BatchNorm, whose gradient has no exact zeros; see the control below).
        Assert.True(seen() > 0.8, $"zeros in the hooked gradients {seen():F3}");
        Assert.Equal((double)m.Extra!["grad_sparsity"], seen(), 6);
        Assert.Equal(12, Convert.ToInt32(m.Extra["grad_pruned_steps"]));
        foreach (var (name, f) in Layers(m))
        {
            foreach (var key in new[] { "target", "sparsity", "mu", "sigma", "cos_pred", "cos_pred_trunc", "cos_meas", "ks", "ks_gauss", "ks_laplace", "elements" })
                Assert.True(f.ContainsKey(key), $"layer {name} lacks {key}");
            // The closed form's sparsity error is bounded by the KS distance of the fit on the non-zeros (S(α) is an
            // average of the CDF over [0, α]), plus sampling noise (≤ 1 pp here): a bound tied to how lognormal the
            // gradient is, not a loosened tolerance.
            double err = Math.Abs(f["sparsity"] - f["target"]);
            Assert.True(err <= f["ks"] + 0.01, $"layer {name}: sparsity {f["sparsity"]:F4}, target {f["target"]:F4}, KS {f["ks"]:F3}");
            Assert.InRange(f["cos_meas"], 0.2, 1);
        }
        var line = File.ReadAllLines(Path.Combine(_dir, "metrics.jsonl")).Single();
        using var doc = JsonDocument.Parse(line);
        Assert.True(doc.RootElement.GetProperty("grad_layers").GetProperty("0").GetProperty("sparsity").GetDouble() > 0.7);
        Assert.True(doc.RootElement.GetProperty("grad_sparsity").GetDouble() > 0.8);
    }

    [Fact]
    public void Control_without_pruning_the_hooked_gradients_are_dense()
    {
        var t = Build(Options(0) with { Epochs = 1, TrainLimit = 64 });
        Assert.Empty(t.Methods);
        var seen = ZeroCounter(t.Model, ["0", "3", "7", "10", "15"]);
        var m = Assert.Single(t.Run(1));
        Assert.True(seen() < 0.3, $"zeros {seen():F3}");        // only fc1's ReLU zeros (a small layer) are exact
        Assert.Null(m.Extra);
    }

    /// <summary>
    /// The issue's bar: realised sparsity within ±1 pp of the target on real gradients, per layer, with thresholds that
    /// hit their target whatever the distribution (the empirical solver; sampling error ≈ 0.2 pp) — for uniform and
    /// cosine allocation. The cosine allocation meets the global budget and keeps protected layers at or below it.
    /// Thresholds are fitted every step: this is the fit's accuracy; frozen thresholds are tested below (the first
    /// steps of a fresh model move its gradients fastest, by ≈ 9 pp of sparsity over 8 steps in this tiny cnn).
    /// </summary>
    [Theory]
    [InlineData(GradPruneAllocation.Uniform)]
    [InlineData(GradPruneAllocation.Cosine)]
    public void Realised_sparsity_is_within_one_point_of_target(GradPruneAllocation alloc)
    {
        var t = Build(Options(0.7, alloc: alloc, threshold: GradPruneThreshold.Empirical, refit: 1));
        var m = Assert.Single(t.Run(1));
        var layers = Layers(m);
        foreach (var (name, f) in layers)
            Assert.True(Math.Abs(f["sparsity"] - f["target"]) < 0.01, $"{alloc} layer {name}: sparsity {f["sparsity"]:F4}, target {f["target"]:F4}");
        Assert.True(Math.Abs((double)m.Extra!["grad_sparsity"] - 0.7) < 0.01, $"global {m.Extra["grad_sparsity"]}");
        if (alloc == GradPruneAllocation.Cosine)
        {
            // 7, 10, 15 have at most half the elements of the 28×28 convs: protected, at or below the global target, and
            // their predicted cosine (plain closed form, the default) at the allocated sparsity respects the 0.95 floor.
            foreach (var name in new[] { "7", "10", "15" })
            {
                Assert.True(layers[name]["target"] <= 0.7 + 1e-9, $"{name}: {layers[name]["target"]}");
                Assert.True(layers[name]["cos_pred"] >= 0.95 - 1e-6, $"{name}: cos_pred {layers[name]["cos_pred"]}");
            }
            // The unprotected 28×28 convs take the rest of the budget (less when a protected layer's own zeros overshoot), capped at 0.9.
            foreach (var name in new[] { "0", "3" }) Assert.InRange(layers[name]["target"], 0.5, 0.9 + 1e-9);
        }
    }

    [Theory]
    [InlineData(GradPruneMode.Deterministic)]
    [InlineData(GradPruneMode.TopK)]
    public void Baselines_prune_to_the_target(GradPruneMode mode)
    {
        var t = Build(Options(0.8, mode: mode, threshold: GradPruneThreshold.Empirical, refit: 1) with { TrainLimit = 128 });
        var m = Assert.Single(t.Run(1));
        foreach (var (name, f) in Layers(m))
            Assert.True(Math.Abs(f["sparsity"] - 0.8) < (mode == GradPruneMode.TopK ? 1e-3 : 0.01), $"{mode} layer {name}: sparsity {f["sparsity"]:F4}");
    }

    /// <summary>
    /// refit_interval 4 over 12 steps: 3 fits per layer (steps 0, 4, 8), and the 9 frozen steps still prune. The zeros
    /// the layers' backward sees are measured over all 12 steps, so this fails if frozen steps were silently dense (at
    /// most 3/12 of the steps pruned: ≈ 0.2 zeros) or if every step still fitted (12 fits).
    /// </summary>
    [Fact]
    public void Refit_interval_fits_every_nth_step_and_the_frozen_steps_prune_near_target()
    {
        var t = Build(Options(0.85, refit: 4));
        var method = Assert.IsType<NeuralGradientPruning>(Assert.Single(t.Methods));
        var seen = ZeroCounter(t.Model, method.LayerNames);
        var m = Assert.Single(t.Run(1));
        Assert.True(seen() > 0.75, $"zeros in the hooked gradients {seen():F3}");
        Assert.Equal(12, Convert.ToInt32(m.Extra!["grad_pruned_steps"]));
        foreach (var (name, f) in Layers(m))
        {
            Assert.Equal(3, f["fits"]);
            if (f["target"] > 0 && name != "15") Assert.True(Math.Abs(f["sparsity"] - 0.85) < 0.1, $"layer {name}: sparsity {f["sparsity"]:F4}");
        }
        Assert.Equal(12, Layers(Assert.Single(Build(Options(0.85, refit: 1)).Run(1)))["0"]["fits"]);
    }

    /// <summary>
    /// Frozen steps hand the prune to the following batch norm's backward (grad_fused_prunes), which must train to the
    /// same bits as the separate pass: an identity hook after the method's keeps every prune separate.
    /// </summary>
    [Fact]
    public void Prunes_fused_into_the_batch_norm_backward_train_exactly_as_separate_passes()
    {
        (float[] Weights, EpochMetrics Metrics) Train(bool separate)
        {
            var t = Build(Options(0.85, refit: 4) with { TrainLimit = 256 });
            var method = Assert.IsType<NeuralGradientPruning>(Assert.Single(t.Methods));
            if (separate)
                foreach (var (name, m) in t.Model.NamedModules())
                    if (method.LayerNames.Contains(name))
                        m.RegisterForwardHook((mod, y) => { if (mod.Training && y.RequiresGrad) y.RegisterHook(g => g); return y; });
            var metrics = Assert.Single(t.Run(1));
            return (t.Model.Parameters().SelectMany(p => p.ToArray()).ToArray(), metrics);
        }
        var fused = Train(false); var separate = Train(true);
        // 8 steps, refit every 4th: 6 frozen steps × 4 convolutions each followed by a batch norm.
        Assert.Equal(24L, Convert.ToInt64(fused.Metrics.Extra!["grad_fused_prunes"]));
        Assert.Equal(0L, Convert.ToInt64(separate.Metrics.Extra!["grad_fused_prunes"]));
        Assert.Equal(separate.Metrics.TrainLoss, fused.Metrics.TrainLoss);
        Assert.Equal((double)separate.Metrics.Extra!["grad_sparsity"], (double)fused.Metrics.Extra!["grad_sparsity"]);
        Assert.True(separate.Weights.SequenceEqual(fused.Weights), "the weights differ");
    }

    [Fact]
    public void Epoch_schedule_has_a_dense_hot_start_then_prunes_with_frozen_thresholds()
    {
        var h = Build(Options(0.8, schedule: GradPruneSchedule.Epoch, epochs: 2) with { TrainLimit = 256 }).Run(2);
        // 8 batches per epoch: 4 dense, then 2 estimating + 2 frozen; epoch 2: all 8 prune.
        Assert.Equal(4, Convert.ToInt32(h[0].Extra!["grad_pruned_steps"]));
        Assert.Equal(8, Convert.ToInt32(h[1].Extra!["grad_pruned_steps"]));
        Assert.True((double)h[1].Extra!["grad_sparsity"] > 0.6);
    }

    [Fact]
    public void Resume_reproduces_a_pruned_run()
    {
        // Random streams are functions of (seed, step, layer) and every epoch re-estimates, so no pruning state needs
        // checkpointing: a run killed after epoch 1 and resumed matches the uninterrupted one exactly.
        TrainOptions O(string dir, int epochs) => Options(0.8, schedule: GradPruneSchedule.Epoch, epochs: epochs, outDir: Path.Combine(_dir, dir)) with { TrainLimit = 64 };
        var full = Recipe.Fit(O("full", 2), Train, Test);
        Recipe.Fit(O("killed", 1), Train, Test);
        var resumed = Recipe.Fit(O("killed", 2), Train, Test, resume: true);
        Assert.Equal(full[1].TrainLoss, resumed[1].TrainLoss);
        Assert.Equal((double)full[1].Extra!["grad_sparsity"], (double)resumed[1].Extra!["grad_sparsity"]);
    }

    [Fact]
    public void Runs_only_in_training_with_grad_and_a_library_loop_without_the_trainer_works()
    {
        var model = ModelZoo.Build("cnn", new ModelOptions(Width: 4), 1);
        var method = new NeuralGradientPruning(new GradPruneOptions { Sparsity = 0.9, Threshold = GradPruneThreshold.Empirical, KsInterval = 1, RefitInterval = 1 });
        method.Attach(model);
        var seen = ZeroCounter(model, method.LayerNames);
        var opt = new Sgd(model.Parameters(), 0.05);
        var batch = new DataLoader(Train, 32, shuffle: false, 1).Epoch(1).First();
        for (int step = 0; step < 2; step++)
        {
            var loss = model.Call(batch.Inputs).CrossEntropy(batch.Labels!);
            opt.ZeroGrad();
            loss.Backward();
            opt.Step();
        }
        Assert.True(Math.Abs(seen() - 0.9) < 0.01, $"zeros {seen():F4}");
        var figures = new Dictionary<string, object>();
        method.CollectEpochFigures(figures);
        Assert.Equal(2, Convert.ToInt32(figures["grad_pruned_steps"]));
        model.Eval();
        using (Frugal.Autograd.GradMode.NoGrad()) model.Call(batch.Inputs);        // no hook, no error
        figures.Clear();
        method.CollectEpochFigures(figures);
        Assert.Equal(0, Convert.ToInt32(figures["grad_pruned_steps"]));
        Assert.Throws<InvalidOperationException>(() => method.Attach(model));
    }

    [Fact]
    public void Factory_builds_the_method_from_the_options_and_rejects_bad_values()
    {
        Assert.Empty(new TrainOptions().CreateMethods());
        var m = Assert.IsType<NeuralGradientPruning>(Assert.Single(Options(0.5, GradPruneMode.TopK, GradPruneAllocation.Cosine, GradPruneSchedule.Epoch, GradPruneThreshold.Empirical).CreateMethods()));
        Assert.Equal(new GradPruneOptions { Sparsity = 0.5, Mode = GradPruneMode.TopK, Threshold = GradPruneThreshold.Empirical, Allocation = GradPruneAllocation.Cosine, Schedule = GradPruneSchedule.Epoch }, m.Options);
        var bad = Assert.Throws<Frugal.Options.OptionException>(() => (Options(0.5) with { GradPrune = new GradPruneOptions { CosFloor = 2 } }).Validate());
        Assert.Equal("grad_prune.cos_floor", bad.Key);
        Assert.Contains("sparsity", Assert.Throws<Frugal.Options.OptionException>(() => new NeuralGradientPruning(new GradPruneOptions { Sparsity = 1 })).Message);
        var mlp = ModelZoo.Build("mlp", new ModelOptions(Hidden: []));
        Assert.Contains("classifier", Assert.Throws<ArgumentException>(() => new NeuralGradientPruning(new GradPruneOptions()).Attach(mlp)).Message);
    }
}
