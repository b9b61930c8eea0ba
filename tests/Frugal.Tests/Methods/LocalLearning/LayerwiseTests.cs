using Frugal.Data;
using Frugal.Methods.LocalLearning;
using Frugal.Nn;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Training;

namespace Frugal.Tests.Methods.LocalLearning;

/// <summary>Layer-wise training (METHODS.md §4.3) on a four-stage conv net and synthetic images.</summary>
public class LayerwiseTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-layerwise-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static readonly ImageDataset Train = SyntheticImages.Make(256, 4, 1);
    static readonly ImageDataset Test = SyntheticImages.Make(100, 4, 2);

    /// <summary>Stages: conv-BN-ReLU-pool, conv-BN-ReLU-pool-flatten, linear-ReLU, linear (the classifier).</summary>
    internal static Sequential Net(ulong seed = 5)
    {
        var g = new Generator(seed);
        return new Sequential(
            new Conv2d(1, 4, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
            new Conv2d(4, 8, 3, padding: 1, bias: false, generator: g), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2), new Flatten(),
            new Linear(8 * 7 * 7, 16, generator: g), new ReLU(),
            new Linear(16, 10, generator: g));
    }

    /// <summary>The model's layer indices of each stage: 0–3, 4–8, 9–10, 11.</summary>
    static readonly int[][] StageLayers = [[0, 1, 2, 3], [4, 5, 6, 7, 8], [9, 10], [11]];

    internal static LayerwiseTraining Layerwise(Sequential model, LayerwiseOptions options, string? run = null, IDataset? train = null) =>
        new(model, piece => new Sgd(piece.Parameters(), 0.05, momentum: 0.9), new DataLoader(train ?? Train, 32, shuffle: true, seed: 3, dropLast: true),
            new DataLoader(Test, 50, shuffle: false), options: options, runFolder: run, seed: 7);

    static Dictionary<string, float[]> Snapshot(Module m) => m.StateDict().ToDictionary(p => p.Key, p => p.Value.ToArray());

    static int StageOf(string key) => Array.FindIndex(StageLayers, s => s.Contains(int.Parse(key.Split('.')[0])));

    /// <summary>Records, per phase, which stages' state (weights and BatchNorm statistics) changed.</summary>
    sealed class ChangedStages(Sequential model) : ITrainingCallback
    {
        Dictionary<string, float[]>? _before;
        public List<SortedSet<int>> Changed { get; } = [];
        public void OnRunStart(int startEpoch, int epochs, int batches) => _before = Snapshot(model);
        public void OnEpochEnd(EpochMetrics m)
        {
            var changed = new SortedSet<int>();
            foreach (var (k, v) in Snapshot(model))
                if (!v.SequenceEqual(_before![k])) changed.Add(StageOf(k));
            if (Changed.Count == 0 || m.Epoch == 1) Changed.Add(changed); else Changed[^1] = changed;
        }
    }

    [Fact]
    public void Each_stage_trains_only_its_own_layers_and_the_composed_model_learns()
    {
        var model = Net();
        var lw = Layerwise(model, new LayerwiseOptions { StageEpochs = 2, Cache = ActivationCacheMode.Off });
        var changed = new ChangedStages(model);
        lw.Callbacks.Add(changed);
        var history = lw.Run(8);
        Assert.Equal(4, history.Count);
        // Stage s alone changes in phase s: a stage left unfrozen (or its BatchNorm in training mode) would show here.
        Assert.Equal([[0], [1], [2], [3]], changed.Changed.Select(c => c.ToArray()).ToArray());
        Assert.True(history[^1].TestAccuracy > 0.9, $"accuracy {history[^1].TestAccuracy}");
    }

    [Fact]
    public void Window_fine_tune_changes_both_stages_of_the_window()
    {
        var model = Net();
        var lw = Layerwise(model, new LayerwiseOptions { StageEpochs = 1, WindowEpochs = 1, Cache = ActivationCacheMode.Off });
        Assert.Equal(["stage-01", "stage-02", "stage-02-window", "stage-03", "stage-03-window", "stage-04", "stage-04-window"],
            lw.Plan(4).Select(p => p.Name));
        var changed = new ChangedStages(model);
        lw.Callbacks.Add(changed);
        lw.Run(4);
        Assert.Equal([[0], [1], [0, 1], [2], [1, 2], [3], [2, 3]], changed.Changed.Select(c => c.ToArray()).ToArray());
    }

    [Fact]
    public void Aux_depth_sets_the_heads_conv_layers()
    {
        foreach (int k in new[] { 0, 2 })
        {
            var lw = Layerwise(Net(), new LayerwiseOptions { AuxDepth = k });
            Assert.Equal(k, lw.Head(1)!.Layers.Count(l => l is Conv2d));
            // The second stage ends in Flatten: its head still sees the 8×7×7 image, not 392 flat features.
            Assert.Equal(k, lw.Head(2)!.Layers.Count(l => l is Conv2d));
            Assert.Equal(k, lw.Head(3)!.Layers.Count(l => l is Linear) - 1);
            Assert.Null(lw.Head(4));
        }
    }

    [Fact]
    public void The_cache_holds_the_prefix_outputs_and_is_used_only_when_allowed()
    {
        var prefix = new Sequential(ModelStages.Split(Net()).Take(2).ToArray());
        var cache = ActivationCache.Build(Train, prefix, Device.Cpu, batchSize: 100);
        int[] some = [0, 77, 255];
        var cached = cache.GetBatch(some, Device.Cpu, new Generator(0));
        prefix.Eval();
        // Recomputed in the cache's own batches of 100 (rows 0–99 and 200–255): a GEMM over stacked images may round the
        // last bit differently at another batch size, and the cache must hold to the bit what its batches computed.
        float[] Recomputed(int start, int count, int row)
        {
            using var _ = Frugal.Autograd.GradMode.NoGrad();
            var y = prefix.Call(Train.GetBatch(Enumerable.Range(start, count).ToArray(), Device.Cpu, new Generator(0)).Inputs);
            int per = (int)(y.Numel / count);
            return y.ToArray().AsSpan(row * per, per).ToArray();
        }
        float[] expected = [.. Recomputed(0, 100, 0), .. Recomputed(0, 100, 77), .. Recomputed(200, 56, 55)];
        Assert.Equal(expected, cached.Inputs.ToArray());
        Assert.Equal(some.Select(i => Train.Labels[i]), cached.Labels!);

        var auto = Layerwise(Net(), new LayerwiseOptions { StageEpochs = 1 }).Run(4);
        var off = Layerwise(Net(), new LayerwiseOptions { StageEpochs = 1, Cache = ActivationCacheMode.Off }).Run(4);
        var augmented = Layerwise(Net(), new LayerwiseOptions { StageEpochs = 1 }, train: Train with { Augmentation = new Augmentation(2, false) }).Run(4);
        Assert.Equal([false, true, true, true], auto.Select(Cached));
        Assert.All(off.Concat(augmented), m => Assert.False(Cached(m)));
        // Cached or recomputed, each stage sees the same inputs in the same order.
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(off[i].TestAccuracy, auto[i].TestAccuracy);
            Assert.Equal(off[i].TrainLoss, auto[i].TrainLoss, 4);
        }
        Assert.Throws<Frugal.Options.OptionException>(() =>
            Layerwise(Net(), new LayerwiseOptions { StageEpochs = 1, Cache = ActivationCacheMode.On }, train: Train with { Augmentation = new Augmentation(2, false) }).Run(4));
    }

    static bool Cached(EpochMetrics m) => m.Extra!["inputs_cached"] is bool b ? b : ((System.Text.Json.JsonElement)m.Extra["inputs_cached"]).GetBoolean();

    sealed class KillAt(int phase, int epoch) : ITrainingCallback
    {
        int _phase;
        public void OnRunStart(int startEpoch, int epochs, int batches) => _phase++;
        public void OnEpochEnd(EpochMetrics m)
        {
            if (_phase == phase && m.Epoch == epoch) throw new OperationCanceledException("killed");
        }
    }

    [Fact]
    public void Resume_after_a_kill_mid_stage_reproduces_the_uninterrupted_run()
    {
        // Every kind of phase and state: heads with BatchNorm, factored layers, window fine-tunes, the cache.
        var options = new LayerwiseOptions { StageEpochs = 2, AuxDepth = 1, Overparameterize = 1.5, WindowEpochs = 1 };
        var fullModel = Net();
        var full = Layerwise(fullModel, options, Path.Combine(_dir, "full")).Run(8);
        var killedDir = Path.Combine(_dir, "killed");
        var killed = Layerwise(Net(), options, killedDir);
        killed.Callbacks.Add(new KillAt(phase: 4, epoch: 1));   // stage 3, after its first epoch
        Assert.Throws<OperationCanceledException>(() => killed.Run(8));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(killedDir, "metrics.jsonl")).Length);
        var resumedModel = Net();
        var resumed = Layerwise(resumedModel, options, killedDir).Run(8, resume: true);
        Assert.Equal(full.Count, resumed.Count);
        for (int i = 0; i < full.Count; i++)
        {
            Assert.Equal(full[i].TrainLoss, resumed[i].TrainLoss);
            Assert.Equal(full[i].TestLoss, resumed[i].TestLoss);
            Assert.Equal(full[i].TestAccuracy, resumed[i].TestAccuracy);
        }
        var a = Snapshot(fullModel);
        foreach (var (k, v) in Snapshot(resumedModel)) Assert.True(v.SequenceEqual(a[k]), k);
        Assert.Equal(full.Count, File.ReadAllLines(Path.Combine(killedDir, "metrics.jsonl")).Length);
    }

    [Fact]
    public void The_run_folder_holds_each_phase_and_the_model_under_its_own_keys()
    {
        var model = Net();
        Layerwise(model, new LayerwiseOptions { StageEpochs = 1, Overparameterize = 2 }, _dir).Run(4);
        foreach (var stage in new[] { "stage-01", "stage-02", "stage-03", "stage-04" })
            Assert.True(File.Exists(Path.Combine(_dir, stage, "checkpoint.safetensors")), stage);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(_dir, "metrics.jsonl")).Length);
        var saved = Frugal.Checkpoints.SafeTensors.Load(Path.Combine(_dir, "model.safetensors"));
        Assert.Equal(Net().StateDict().Select(p => p.Key), saved.Tensors.Keys);
        // The stage trained its factors B·A; the model's own conv now holds their product.
        Assert.Contains("1.0.a", Frugal.Checkpoints.SafeTensors.Load(Path.Combine(_dir, "stage-01", "model.safetensors")).Tensors.Keys);
        Assert.NotEqual(Net().StateDict()[0].Value.ToArray(), model.StateDict()[0].Value.ToArray());
    }
}
