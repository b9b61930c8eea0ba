using System.Diagnostics;
using Frugal.Data;
using Frugal.Methods;
using Frugal.Nn;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Training;

/// <summary>
/// The training loop, composed of parts: a model, its optimizer, training (and optionally test) data, a loss, the
/// efficient-training methods, a run folder and callbacks. Per epoch it trains over the loader's batches, evaluates,
/// stops if the epoch diverged, then writes one metrics line and a checkpoint (each atomically). All randomness is a function of (seed, epoch) or lives in
/// the checkpoint (the default generator's state), so <c>Run(epochs, resume: true)</c> after a kill reproduces the
/// uninterrupted run's metrics exactly, for any model and data set.
/// </summary>
public sealed class Trainer
{
    public Module Model { get; }
    public Optimizer Optimizer { get; }
    public DataLoader TrainLoader { get; }
    public DataLoader? TestLoader { get; }
    public LossFunction Loss { get; }
    /// <summary>The methods, attached to <see cref="Model"/> in this order by the constructor.</summary>
    public IReadOnlyList<ITrainingMethod> Methods { get; }
    /// <summary>Where metrics, TensorBoard events and checkpoints go (null: nothing is written).</summary>
    public RunFolder? RunFolder { get; }
    /// <summary>The learning rate per optimisation step (null: the optimizer's own, unchanged).</summary>
    public ILrSchedule? Schedule { get; init; }
    /// <summary>Clip the global gradient L2 norm to this value before each step (0 = off).</summary>
    public double ClipGradNorm { get; init; }
    public List<ITrainingCallback> Callbacks { get; } = [];

    /// <param name="model">On the device of <paramref name="train"/>'s batches.</param>
    /// <param name="optimizer">Over the model's parameters.</param>
    /// <param name="train">Training batches (shuffled by the loader's seed and the epoch).</param>
    /// <param name="test">Evaluated after every epoch (null: no evaluation; test figures are NaN).</param>
    /// <param name="loss">The objective (default: cross-entropy on the batch's labels).</param>
    /// <param name="methods">Attached now, in order: e.g. sampling, then pruning, then the low-bit cast.</param>
    /// <param name="run">The run folder (null: nothing is written, and there is nothing to resume).</param>
    public Trainer(Module model, Optimizer optimizer, DataLoader train, DataLoader? test = null, LossFunction? loss = null,
        IEnumerable<ITrainingMethod>? methods = null, RunFolder? run = null)
    {
        Model = model; Optimizer = optimizer; TrainLoader = train; TestLoader = test; RunFolder = run;
        Loss = loss ?? LossFunctions.CrossEntropy();
        if (train.Count == 0)
            throw new ArgumentException($"trainer: the training loader makes no batch of {train.BatchSize} from {train.Data.Count} examples");
        Methods = methods?.ToList() ?? [];
        foreach (var method in Methods) method.Attach(model);
    }

    /// <summary>Trains to epoch <paramref name="epochs"/>; with <paramref name="resume"/>, continues after the run
    /// folder's last checkpoint (from epoch 1 when it has none).</summary>
    public IReadOnlyList<EpochMetrics> Run(int epochs, bool resume = false)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "trainer: train at least one epoch");
        int start = 1;
        var history = new List<EpochMetrics>();
        if (resume)
        {
            if (RunFolder == null) throw new InvalidOperationException("trainer: resuming needs a run folder to continue from");
            var state = RunFolder.LoadCheckpoint(Model, Optimizer);
            if (state == null) Say($"resume: no checkpoint in {RunFolder.Path}; starting from epoch 1");
            else
            {
                start = state.Epoch + 1;
                Generator.Default.State = state.GeneratorState;
                history.AddRange(RunFolder.ReadMetrics(upToEpoch: state.Epoch));
                // A kill between model.safetensors and the checkpoint leaves the model a step ahead: match them.
                RunFolder.SaveModel(Model, state.Epoch);
                Say($"resume: continuing {RunFolder.Path} after epoch {state.Epoch}");
            }
        }
        RunFolder?.Start(history);
        try
        {
            foreach (var cb in Callbacks) cb.OnRunStart(start, epochs, TrainLoader.Count);
            for (int epoch = start; epoch <= epochs; epoch++) RunEpoch(epoch, history);
        }
        finally { RunFolder?.Dispose(); }
        return history;
    }

    /// <summary>Trains, evaluates, checks and records one epoch.</summary>
    void RunEpoch(int epoch, List<EpochMetrics> history)
    {
        var m = TrainEpoch(epoch);
        foreach (var cb in Callbacks) cb.OnEvaluate(epoch);
        if (TestLoader != null)
        {
            var sw = Stopwatch.StartNew();
            var (testLoss, testAcc) = Evaluation.Run(Model, TestLoader, Loss);
            m = m with { TestLoss = testLoss, TestAccuracy = testAcc, EvalSeconds = sw.Elapsed.TotalSeconds };
        }
        StopIfDiverged(epoch, m);
        // The metrics line first, the checkpoint last: a kill in between resumes from the previous epoch's
        // checkpoint, which re-runs this epoch and replaces its line (RunFolder).
        RunFolder?.AppendMetrics(m);
        RunFolder?.SaveCheckpoint(Model, Optimizer, epoch, Generator.Default.State);
        history.Add(m);
        foreach (var cb in Callbacks) cb.OnEpochEnd(m);
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
            // The step's dead tensors give their memory back for the next step (CPU buffer pool, GPU cache).
            using var deviceStep = TrainLoader.Device.BeginStep();
            if (Schedule != null) Optimizer.LearningRate = Schedule.LearningRate(step);
            step++;
            foreach (var method in Methods) method.OnStep(epoch, b, batches);
            var output = Model.Call(batch.Inputs);
            var loss = Loss(output, batch);
            Optimizer.ZeroGrad();
            loss.Backward();
            if (ClipGradNorm > 0) GradClip.ClipGradNorm(Optimizer.Parameters, ClipGradNorm);
            double l = loss.Item();
            if (!double.IsFinite(l)) throw Diverged($"loss became {l} at epoch {epoch}, batch {b + 1}");
            Optimizer.Step();
            // Unoptimised (tier-0) JIT code keeps locals alive to the end of the method; drop the graph
            // explicitly so the step scope's collection frees this step's buffers for the next step.
            loss = output = null!;
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
            Epoch = epoch, TrainLoss = lossSum / seen, TestLoss = double.NaN, TestAccuracy = double.NaN,
            SamplesPerSecond = seen / secs, Seconds = secs,
            LearningRate = Optimizer.LearningRate, Extra = figures.Count > 0 ? figures : null,
        };
    }

    /// <summary>A finished epoch whose test loss or weights are not finite must not overwrite the last good checkpoint.</summary>
    void StopIfDiverged(int epoch, EpochMetrics m)
    {
        if (TestLoader is { Data.Count: > 0 } && !double.IsFinite(m.TestLoss))
            throw Diverged($"epoch {epoch} ended with test loss {m.TestLoss}");
        foreach (var (name, t) in Model.StateDict())
            if (!AllFinite(t)) throw Diverged($"epoch {epoch} ended with non-finite values in '{name}'");
    }

    static bool AllFinite(Tensor t)
    {
        var host = t.Storage.HostArray is { } a ? a.AsSpan(t.Offset, t.Numel) : t.ToArray();
        foreach (var v in host) if (!float.IsFinite(v)) return false;
        return true;
    }

    TrainingDivergedException Diverged(string what) => new($"train: {what}; stopped" +
        (RunFolder != null ? $" (the checkpoint of the last completed epoch in {RunFolder.Path} is kept)" : "") +
        ". Try a lower learning rate or gradient-norm clipping.");

    void Say(string message)
    {
        foreach (var cb in Callbacks) cb.OnMessage(message);
    }
}
