using Frugal.Data;
using Frugal.Diagnostics;
using Frugal.Nn;
using Frugal.Optim;
using Frugal.Options;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Methods.LocalLearning;

/// <summary>One training phase of a layer-wise run: stage <see cref="Stage"/> (1-based) with its head, or with
/// <see cref="Window"/> the two-layer window fine-tune of stages Stage−1 and Stage; its folder is <see cref="Name"/>.</summary>
public sealed record LayerwisePhase(int Stage, bool Window, int Epochs)
{
    public string Name => $"stage-{Stage:D2}{(Window ? "-window" : "")}";
}

/// <summary>
/// Greedy layer-wise training (METHODS.md §4.3, a PROPOSAL; Belilovsky et al. 2019): for each stage l of the model
/// (<see cref="ModelStages.Split"/>), freeze stages 1..l−1, train stage l through a small auxiliary head
/// (<see cref="AuxiliaryHead"/>; the last stage needs none, its linear layer is the classifier), then discard the head.
/// Each phase is an ordinary <see cref="Trainer"/> of the piece (frozen prefix, stage, head) with a fresh optimizer,
/// so its metrics, checkpoints and exact resume are the trainer's; the frozen prefix's outputs are cached or recomputed
/// (<see cref="ActivationCache"/>). Training memory holds one stage's activations instead of the whole network's.
/// Interlayer regularisation: over-parameterised stages (<see cref="Overparameterized"/>) and the two-layer window
/// fine-tune. The run folder holds stage-NN/ (and stage-NN-window/) trainer folders, a metrics.jsonl line per phase
/// with the composed model's test accuracy and the phase's peak training memory, and model.safetensors with the model's
/// own state-dict keys.
/// </summary>
public sealed class LayerwiseTraining
{
    public Sequential Model { get; }
    public IReadOnlyList<Sequential> Stages { get; }
    public LayerwiseOptions Options { get; }
    public DataLoader TrainLoader { get; }
    public DataLoader? TestLoader { get; }
    public LossFunction Loss { get; }
    /// <summary>The run folder (null: nothing is written, and there is nothing to resume).</summary>
    public string? RunFolder { get; }
    /// <summary>Each phase's learning rate per step, from its epochs and steps per epoch (null: the optimizer's own).</summary>
    public Func<int, int, ILrSchedule?>? Schedule { get; init; }
    /// <summary>Clip the global gradient L2 norm to this value before each step (0 = off).</summary>
    public double ClipGradNorm { get; init; }
    /// <summary>The resident size training memory is counted from (null: taken when <see cref="Run"/> starts); the
    /// same for every phase, so the activation cache counts as training memory.</summary>
    public long? MemoryBaseline { get; init; }
    /// <summary>Given to every phase's trainer; messages say which phase starts.</summary>
    public List<ITrainingCallback> Callbacks { get; } = [];

    readonly Func<Module, Optimizer> _optimizer;
    readonly ulong _seed;
    /// <summary>Per stage: the layers its head reads (the stage without a trailing Flatten, so the head sees images) and the head (null for the last).</summary>
    readonly Sequential[] _trunks;
    readonly Sequential?[] _heads;
    readonly Shape[] _inputShapes;
    ActivationCacheState? _trainCache, _testCache;

    /// <param name="model">A sequential model whose weighted layers are the stages; trained in place.</param>
    /// <param name="optimizer">A fresh optimizer over a phase's piece (its parameters alone), e.g. <c>p => new Sgd(p.Parameters(), 0.05)</c>.</param>
    /// <param name="train">Training batches of the model's inputs.</param>
    /// <param name="test">Evaluated after every epoch of every phase (the composed model's accuracy), or null.</param>
    /// <param name="loss">The objective of every phase (default: cross-entropy).</param>
    /// <param name="options">Head depth, epochs per stage, caching, interlayer regularisation (default: <see cref="LayerwiseOptions"/>'s).</param>
    /// <param name="runFolder">Where the phases' folders, metrics and the final model go (null: nothing is written).</param>
    /// <param name="seed">Seeds the heads' and the factored layers' initialisation.</param>
    public LayerwiseTraining(Sequential model, Func<Module, Optimizer> optimizer, DataLoader train, DataLoader? test = null,
        LossFunction? loss = null, LayerwiseOptions? options = null, string? runFolder = null, ulong seed = 0)
    {
        Model = model; TrainLoader = train; TestLoader = test; RunFolder = runFolder;
        Loss = loss ?? LossFunctions.CrossEntropy();
        Options = (options ?? new()).Validate();
        _optimizer = optimizer; _seed = seed;
        Stages = ModelStages.Split(model);
        if (train.Data.Count == 0) throw new ArgumentException("layer-wise training: the training data set is empty");
        var input = new Shape(train.Data.GetBatch([0], Device.Cpu, new Generator(0)).Inputs.Shape.Dims[1..].ToArray());
        var output = ModelStages.OutputShape(model, input, train.Device);
        if (output.Rank != 1) throw new ArgumentException($"layer-wise training: the model's output per example is {output}; it must be class scores [C]");
        int n = Stages.Count;
        _trunks = new Sequential[n];
        _heads = new Sequential?[n];
        _inputShapes = new Shape[n];
        var shape = input;
        for (int s = 0; s < n; s++)
        {
            _inputShapes[s] = shape;
            var stage = Stages[s];
            // A stage that ends in Flatten gets its head on the image before it: k conv layers rather than k dense
            // layers of the flattened width (millions of weights on the cnn's 3136 features).
            bool flat = s < n - 1 && stage.Layers[^1] is Flatten && stage.Layers.Count > 1
                        && ModelStages.OutputShape(new Sequential([.. stage.Layers.SkipLast(1)]), shape, train.Device).Rank == 3;
            _trunks[s] = flat ? new Sequential([.. stage.Layers.SkipLast(1)]) : stage;
            if (s < n - 1)
            {
                var head = AuxiliaryHead.Create(ModelStages.OutputShape(_trunks[s], shape, train.Device), output[0], Options.AuxDepth, new Generator(seed * 1_000_003UL + (ulong)s + 1));
                if (train.Device != Device.Cpu) head.To(train.Device);
                _heads[s] = head;
            }
            shape = ModelStages.OutputShape(stage, shape, train.Device);
        }
    }

    /// <summary>The auxiliary head of stage <paramref name="stage"/> (1-based); null for the last stage.</summary>
    public Sequential? Head(int stage) => _heads[stage - 1];

    /// <summary>The phases a run of <paramref name="epochs"/> trains, in order: each stage, and after each stage l ≥ 2
    /// its window fine-tune when <see cref="LayerwiseOptions.WindowEpochs"/> &gt; 0.</summary>
    public IReadOnlyList<LayerwisePhase> Plan(int epochs)
    {
        var perStage = Options.EpochsPerStage(epochs, Stages.Count);
        var phases = new List<LayerwisePhase>();
        for (int s = 1; s <= Stages.Count; s++)
        {
            phases.Add(new LayerwisePhase(s, false, perStage[s - 1]));
            if (s >= 2 && Options.WindowEpochs > 0) phases.Add(new LayerwisePhase(s, true, Options.WindowEpochs));
        }
        return phases;
    }

    /// <summary>
    /// Trains every phase of <see cref="Plan"/>(<paramref name="epochs"/>); returns one metrics record per phase (its
    /// last epoch's losses and the composed model's test accuracy, its peak training memory, total seconds). With
    /// <paramref name="resume"/> (give a freshly initialised model, as the first run had), finished phases are
    /// restored from their checkpoints without training and the interrupted one continues, so the result equals an
    /// uninterrupted run's.
    /// </summary>
    public IReadOnlyList<EpochMetrics> Run(int epochs, bool resume = false)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "layer-wise training: train at least one epoch");
        var plan = Plan(epochs);
        using var top = RunFolder == null ? null : new RunFolder(RunFolder);
        var history = new List<EpochMetrics>();
        if (resume)
        {
            if (top == null) throw new InvalidOperationException("layer-wise training: resuming needs a run folder to continue from");
            history.AddRange(top.ReadMetrics(upToEpoch: plan.Count));
        }
        else if (top != null)
            // A fresh run must never resume a later phase from an earlier run's checkpoint in the same folder.
            foreach (var p in plan)
                if (Directory.Exists(Path.Combine(top.Path, p.Name))) File.Delete(Path.Combine(top.Path, p.Name, "checkpoint.safetensors"));
        top?.Start(history);
        long baseline = MemoryBaseline ?? PeakMemory.MarkBaseline();
        for (int i = 0; i < plan.Count; i++)
        {
            bool finished = i < history.Count;
            var m = RunPhase(i + 1, plan, resume && i <= history.Count, finished, baseline, top);
            if (finished) continue;
            top?.SaveModel(Model, i + 1);
            top?.AppendMetrics(m);
            history.Add(m);
        }
        _trainCache = _testCache = null;
        return history;
    }

    EpochMetrics RunPhase(int index, IReadOnlyList<LayerwisePhase> plan, bool resume, bool finished, long baseline, RunFolder? top)
    {
        var phase = plan[index - 1];
        int s = phase.Stage - 1, prefixLength = phase.Window ? s - 1 : s;
        var trunk = phase.Window ? new Sequential(Stages[s - 1], _trunks[s]) : _trunks[s];
        var factored = !phase.Window && Options.Overparameterize > 0
            ? Overparameterized.Apply(_trunks[s], Options.Overparameterize, new Generator(_seed * 7_919UL + (ulong)s + 0xFAC7UL))
            : [];
        // A finished phase trains nothing (its trainer only restores its checkpoint), so it needs no cache.
        bool cached = !finished && prefixLength > 0 && UseCache(prefixLength);
        var (train, test) = (TrainLoader, TestLoader);
        Module? prefix = prefixLength > 0 ? new Sequential([.. Stages.Take(prefixLength)]) : null;
        if (cached)
        {
            _trainCache = ActivationCacheState.Advance(_trainCache, TrainLoader.Data, Stages, prefixLength, TrainLoader.Device);
            train = TrainLoader.Over(_trainCache.Data);
            if (TestLoader != null)
            {
                _testCache = ActivationCacheState.Advance(_testCache, TestLoader.Data, Stages, prefixLength, TestLoader.Device);
                test = TestLoader.Over(_testCache.Data);
            }
            prefix = null;
        }
        var head = _heads[s];
        var piece = head == null ? new Sequential(new FrozenPrefix(prefix), trunk) : new Sequential(new FrozenPrefix(prefix), trunk, head);
        var trainer = new Trainer(piece, _optimizer(piece), train, test, Loss,
            run: top == null ? null : new RunFolder(Path.Combine(top.Path, phase.Name)))
        {
            Schedule = Schedule?.Invoke(phase.Epochs, train.Count),
            ClipGradNorm = ClipGradNorm,
            MemoryBaseline = baseline,
        };
        trainer.Callbacks.AddRange(Callbacks);
        int trained = piece.Parameters().Sum(p => p.Numel);
        Say($"layer-wise {phase.Name} ({index}/{plan.Count}): {(phase.Window ? $"stages {s} and {s + 1}" : $"stage {s + 1} of {Stages.Count}")}" +
            $"{(head == null ? ", no head (the classifier)" : $", head depth {Options.AuxDepth}")}, {trained} parameters, {phase.Epochs} epochs, " +
            $"inputs {(prefixLength == 0 ? "from the data" : cached ? "cached" : "recomputed by the frozen prefix")}" +
            $"{(factored.Count > 0 ? $", {factored.Count} layers over-parameterised" : "")}{(finished ? " (finished: restored)" : "")}");
        // Training memory starts now: not with the garbage of the last phase, the cache build or the factorisation.
        TrainLoader.Device.EmptyCache();
        var epochs = trainer.Run(phase.Epochs, resume);
        Overparameterized.Collapse(_trunks[s], factored);
        // A cache that runs through a stage this phase trained is stale (the window fine-tune retrains stage l−1).
        if (_trainCache?.PrefixLength > prefixLength) _trainCache = null;
        if (_testCache?.PrefixLength > prefixLength) _testCache = null;
        return Summary(index, phase, epochs, cached, trained);
    }

    bool UseCache(int prefixLength)
    {
        if (Options.Cache == ActivationCacheMode.Off) return false;
        bool deterministic = ActivationCache.IsDeterministic(TrainLoader.Data) && (TestLoader == null || ActivationCache.IsDeterministic(TestLoader.Data));
        if (Options.Cache == ActivationCacheMode.On)
            return deterministic ? true : throw new OptionException("layerwise.cache",
                "on needs deterministic data (no augmentation): cached features would freeze one draw of it; use auto or off");
        var features = ModelStages.OutputShape(Stages[prefixLength - 1], _inputShapes[prefixLength - 1], TrainLoader.Device);
        long bytes = ActivationCache.Bytes(TrainLoader.Data.Count + (TestLoader?.Data.Count ?? 0), features);
        return deterministic && bytes <= Options.CacheLimitMb * 1024 * 1024;
    }

    static EpochMetrics Summary(int index, LayerwisePhase phase, IReadOnlyList<EpochMetrics> epochs, bool cached, int trained)
    {
        var last = epochs[^1];
        double seconds = epochs.Sum(e => e.Seconds);
        return new EpochMetrics
        {
            Epoch = index, TrainLoss = last.TrainLoss, TestLoss = last.TestLoss, TestAccuracy = last.TestAccuracy,
            SamplesPerSecond = seconds > 0 ? epochs.Sum(e => e.SamplesPerSecond * e.Seconds) / seconds : 0,
            Seconds = seconds, EvalSeconds = epochs.Sum(e => e.EvalSeconds), LearningRate = last.LearningRate,
            PeakMemoryMb = epochs.Max(e => e.PeakMemoryMb), PeakRssMb = epochs.Max(e => e.PeakRssMb),
            Extra = new Dictionary<string, object>
            {
                ["phase"] = phase.Window ? "window" : "stage", ["stage"] = phase.Stage, ["stage_epochs"] = phase.Epochs,
                ["inputs_cached"] = cached, ["trained_parameters"] = trained,
            },
        };
    }

    void Say(string message)
    {
        foreach (var cb in Callbacks) cb.OnMessage(message);
    }

    /// <summary>A cache of the first <see cref="PrefixLength"/> stages' outputs over one data set: advanced stage by
    /// stage (one stage's forward per phase), rebuilt from the data when a window phase needs a shorter prefix.</summary>
    sealed record ActivationCacheState(TensorDataset Data, int PrefixLength)
    {
        public static ActivationCacheState Advance(ActivationCacheState? current, IDataset source, IReadOnlyList<Sequential> stages, int prefixLength, Device device)
        {
            if (current?.PrefixLength == prefixLength) return current;
            int from = current != null && current.PrefixLength < prefixLength ? current.PrefixLength : 0;
            IDataset input = from > 0 ? current!.Data : source;
            var data = ActivationCache.Build(input, new Sequential([.. stages.Skip(from).Take(prefixLength - from)]), device);
            return new ActivationCacheState(data, prefixLength);
        }
    }
}
