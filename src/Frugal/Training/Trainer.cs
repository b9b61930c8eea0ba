using System.Diagnostics;
using Frugal.Data;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Training;

/// <summary>
/// The training loop: per epoch, train over shuffled batches, evaluate on the test set, write a
/// checkpoint (atomically) and one metrics line. All randomness is a function of (seed, epoch) or lives
/// in the checkpoint, so `--resume` after a kill reproduces the uninterrupted run's metrics exactly.
/// </summary>
public sealed class Trainer
{
    public TrainOptions Options { get; }
    public Module Model { get; }
    public Optimizer Optimizer { get; }
    public DataLoader TrainLoader { get; }
    public DataLoader TestLoader { get; }
    public List<ITrainingCallback> Callbacks { get; } = [];
    /// <summary>The efficient-training methods the options switch on, attached to <see cref="Model"/>.</summary>
    public IReadOnlyList<ITrainingMethod> Methods { get; }
    readonly RunFolder? _run;
    readonly Device _device;
    readonly ILrSchedule _schedule;

    public Trainer(TrainOptions options, ImageDataset train, ImageDataset test)
    {
        Options = options.Validate();
        _device = Device.Parse(options.Device);
        Generator.ManualSeed(options.Seed);
        Model = ModelZoo.Build(options.Model, options.ModelOptions with { Classes = Math.Max(options.ModelOptions.Classes, train.Classes) }, options.Seed);
        if (_device != Device.Cpu) Model.To(_device);
        Methods = Frugal.Methods.TrainingMethods.FromOptions(options);
        foreach (var method in Methods) method.Attach(Model);
        Optimizer = OptimizerFactory.Create(options, Model);
        var aug = new Augmentation(options.CropPadding, options.HorizontalFlip);
        // Incomplete last batches are dropped in training, as the PyTorch reference does.
        TrainLoader = new DataLoader(train.Take(options.TrainLimit), options.BatchSize, shuffle: true, options.Seed, augmentation: aug, dropLast: true, device: _device);
        TestLoader = new DataLoader(test.Take(options.TestLimit), 1000, shuffle: false, device: _device);
        if (TrainLoader.Count == 0)
            throw new ArgumentException($"--batch-size {options.BatchSize} is larger than the {TrainLoader.Data.Count} training examples");
        _schedule = LearningRateSchedule.Create(options, TrainLoader.Count);
        if (options.Out != null) _run = new RunFolder(options.Out);
    }

    /// <summary>Loads the data named by the options and builds a trainer.</summary>
    public static Trainer FromOptions(TrainOptions options)
    {
        var (train, test) = FashionMnist.Load(options.DataDir);
        return new Trainer(options, train, test);
    }

    /// <summary>Trains to <see cref="TrainOptions.Epochs"/>; with <paramref name="resume"/>, continues from the run folder's checkpoint.</summary>
    public IReadOnlyList<EpochMetrics> Run(bool resume = false)
    {
        int start = 1;
        var history = new List<EpochMetrics>();
        if (resume)
        {
            if (_run == null) throw new ArgumentException("--resume needs --out (the run folder to continue)");
            var state = _run.LoadCheckpoint(Model, Optimizer);
            if (state == null) Say($"resume: no checkpoint in {_run.Path}; starting from epoch 1");
            else
            {
                start = state.Epoch + 1;
                Generator.Default.State = state.GeneratorState;
                history.AddRange(_run.ReadMetrics(upToEpoch: state.Epoch));
                Say($"resume: continuing {_run.Path} after epoch {state.Epoch}");
            }
        }
        // Reuse activation and gradient buffers across steps on this thread (see BufferPool).
        using var pool = Backends.Cpu.BufferPool.Enable();
        _run?.Start(Options, history);
        foreach (var cb in Callbacks) cb.OnRunStart(Options, start, TrainLoader.Count);
        for (int epoch = start; epoch <= Options.Epochs; epoch++)
        {
            var m = TrainEpoch(epoch);
            foreach (var cb in Callbacks) cb.OnEvaluate(epoch);
            var sw = Stopwatch.StartNew();
            var (testLoss, testAcc) = Evaluation.Run(Model, TestLoader);
            m = m with { TestLoss = testLoss, TestAccuracy = testAcc, EvalSeconds = sw.Elapsed.TotalSeconds };
            // Checkpoint before the metrics line: a kill in between re-runs this epoch on resume.
            _run?.SaveCheckpoint(Model, Optimizer, epoch, Generator.Default.State);
            _run?.AppendMetrics(m);
            history.Add(m);
            foreach (var cb in Callbacks) cb.OnEpochEnd(m);
        }
        return history;
    }

    EpochMetrics TrainEpoch(int epoch)
    {
        Model.Train();
        int batches = TrainLoader.Count, step = (epoch - 1) * batches;
        double lossSum = 0;
        long seen = 0;
        var sw = Stopwatch.StartNew();
        int b = 0;
        foreach (var batch in TrainLoader.Epoch(epoch))
        {
            // On a GPU, the step's dead tensors give their device memory back to the cache when the step ends.
            using var deviceStep = (Backends.BackendRegistry.Get(_device) as Backends.Cuda.CudaBackend)?.BeginStep();
            Optimizer.LearningRate = _schedule.LearningRate(step++);
            foreach (var method in Methods) method.OnStep(epoch, b, batches);
            var logits = Model.Call(batch.Images);
            var loss = logits.CrossEntropy(batch.Labels, Options.LabelSmoothing);
            Optimizer.ZeroGrad();
            loss.Backward();
            if (Options.ClipGradNorm > 0) GradClip.ClipGradNorm(Optimizer.Parameters, Options.ClipGradNorm);
            double l = loss.Item();
            if (!double.IsFinite(l))
                throw new TrainingDivergedException($"train: loss became {l} at epoch {epoch}, batch {b + 1}; stopped" +
                    (_run != null ? $" (the checkpoint of the last completed epoch in {_run.Path} is kept)" : "") +
                    ". Try a lower --lr or --clip-grad-norm.");
            Optimizer.Step();
            // Unoptimised (tier-0) JIT code keeps locals alive to the end of the method; drop the graph
            // explicitly so the collection in Recycle frees this step's buffers for the next step.
            loss = logits = null!;
            Backends.Cpu.BufferPool.Recycle();
            lossSum += l * batch.Size;
            seen += batch.Size;
            b++;
            foreach (var cb in Callbacks) cb.OnBatchEnd(epoch, b, batches, lossSum / seen, seen / sw.Elapsed.TotalSeconds);
        }
        double secs = sw.Elapsed.TotalSeconds;
        var figures = new Dictionary<string, object>();
        foreach (var method in Methods) method.CollectEpochFigures(figures);
        return new EpochMetrics
        {
            Epoch = epoch, TrainLoss = lossSum / seen, SamplesPerSecond = seen / secs, Seconds = secs,
            LearningRate = Optimizer.LearningRate, Extra = figures.Count > 0 ? figures : null,
        };
    }

    void Say(string message)
    {
        foreach (var cb in Callbacks) cb.OnMessage(message);
    }
}
