using System.Diagnostics;
using System.Runtime.InteropServices;
using Frugal.Data;
using Frugal.Diagnostics;
using Frugal.Distributed;
using Frugal.Distributed.Stragglers;
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
    /// <summary>Before each evaluation, re-estimate the batch norms' running statistics from the first this-many
    /// batches of the epoch's training order (<see cref="BatchNormStatistics.Update"/>: an exact forward, no gradients;
    /// 0 = off). Under forward-mode column-row sampling the running statistics describe the sampled forward, not the
    /// exact one evaluation runs; the checkpoint keeps the re-estimated ones.</summary>
    public int BatchNormRecalibration { get; init; }
    public List<ITrainingCallback> Callbacks { get; } = [];
    /// <summary>
    /// Data parallelism over ranks (null: this process alone). Every rank runs the same Trainer on its shard of the
    /// data (the loaders' <see cref="DataLoader.Shard"/>); only rank 0 should be given the run folder and the
    /// callbacks that report. Losses, accuracies and samples/s in the metrics are over all ranks; a resumed run
    /// continues from rank 0's checkpoint on every rank. With <see cref="DataParallelOptions.MicroBatches"/> M > 1
    /// a step accumulates M loader batches.
    /// </summary>
    public DataParallel? Parallel { get; init; }
    /// <summary>The resident size training memory is counted from (<see cref="PeakMemory"/>; null: taken when
    /// <see cref="Run"/> starts). A schedule of several trainers (layer-wise stages) passes one baseline to all, so
    /// what it keeps between them (cached activations) counts.</summary>
    public long? MemoryBaseline { get; init; }
    long _memoryBaseline;

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
        if (StepsPerEpoch == 0)
            throw new ArgumentException($"trainer: {TrainLoader.Count} batches per epoch make no step of {Parallel!.Options.MicroBatches} micro-batches; use fewer micro-batches or more data");
        int start = 1;
        var history = new List<EpochMetrics>();
        if (resume)
        {
            // Under data parallelism rank 0 reads the checkpoint and the other ranks receive it.
            if (RunFolder == null && Parallel is not { IsRoot: false })
                throw new InvalidOperationException("trainer: resuming needs a run folder to continue from");
            var state = RunFolder?.LoadCheckpoint(Model, Optimizer);
            if (RunFolder != null && state == null) Say($"resume: no checkpoint in {RunFolder.Path}; starting from epoch 1");
            else if (RunFolder != null && state != null)
            {
                history.AddRange(RunFolder.ReadMetrics(upToEpoch: state.Epoch));
                // A kill between model.safetensors and the checkpoint leaves the model a step ahead: match them.
                RunFolder.SaveModel(Model, state.Epoch);
                Say($"resume: continuing {RunFolder.Path} after epoch {state.Epoch}");
            }
            if (state != null) Generator.Default.State = state.GeneratorState;
            start = (Parallel != null ? ShareCheckpoint(state?.Epoch ?? 0) : state?.Epoch ?? 0) + 1;
        }
        RunFolder?.Start(history);
        _memoryBaseline = MemoryBaseline ?? PeakMemory.MarkBaseline();
        try
        {
            foreach (var cb in Callbacks) cb.OnRunStart(start, epochs, StepsPerEpoch);
            for (int epoch = start; epoch <= epochs; epoch++) RunEpoch(epoch, history);
        }
        finally { RunFolder?.Dispose(); }
        return history;
    }

    /// <summary>Trains, evaluates, checks and records one epoch.</summary>
    void RunEpoch(int epoch, List<EpochMetrics> history)
    {
        var m = TrainEpoch(epoch);
        // The re-estimation's forward passes count as evaluation time.
        var sw = Stopwatch.StartNew();
        if (BatchNormRecalibration > 0)
            BatchNormStatistics.Update(Model, TrainLoader.Epoch(epoch).Take(BatchNormRecalibration).Select(b => b.Inputs));
        Parallel?.AverageBuffers();
        foreach (var cb in Callbacks) cb.OnEvaluate(epoch);
        if (TestLoader != null)
        {
            var (lossSum, correct, examples, labelled) = Evaluation.Totals(Model, TestLoader, Loss);
            if (Parallel != null) (lossSum, correct, examples) = Sum(lossSum, correct, examples);
            m = m with
            {
                TestLoss = examples > 0 ? lossSum / examples : double.NaN,
                TestAccuracy = examples > 0 && labelled ? correct / examples : double.NaN,
                EvalSeconds = sw.Elapsed.TotalSeconds,
            };
            // Evaluation batches are larger than training ones: their pooled buffers must not count as the next
            // epoch's training memory.
            TestLoader.Device.EmptyCache();
        }
        StopIfDiverged(epoch, m);
        // The metrics line first, the checkpoint last: a kill in between resumes from the previous epoch's
        // checkpoint, which re-runs this epoch and replaces its line (RunFolder).
        RunFolder?.AppendMetrics(m);
        RunFolder?.SaveCheckpoint(Model, Optimizer, epoch, Generator.Default.State);
        history.Add(m);
        foreach (var cb in Callbacks) cb.OnEpochEnd(m);
    }

    /// <summary>Optimisation steps per epoch: the loader's batches, M to a step under data parallelism with
    /// micro-batches (a remainder of fewer than M batches is left out, so every rank takes the same steps).</summary>
    public int StepsPerEpoch => TrainLoader.Count / (Parallel?.Options.MicroBatches ?? 1);

    EpochMetrics TrainEpoch(int epoch)
    {
        Model.Train();
        int steps = StepsPerEpoch, micro = Parallel?.Options.MicroBatches ?? 1, step = (epoch - 1) * steps;
        double lossSum = 0, seen = 0;
        var sw = Stopwatch.StartNew();
        PeakMemory.ResetPeak();
        using var batches = TrainLoader.Epoch(epoch).GetEnumerator();
        for (int b = 0; b < steps; b++)
        {
            // The step's dead tensors give their memory back for the next step (CPU buffer pool, GPU cache).
            using var deviceStep = TrainLoader.Device.BeginStep();
            if (Schedule != null) Optimizer.LearningRate = Schedule.LearningRate(step);
            step++;
            foreach (var method in Methods) method.OnStep(epoch, b, steps);
            Optimizer.ZeroGrad();
            var drop = Parallel?.DropCompute;
            // DropCompute's timer counts device time, so the device must be idle when it starts.
            if (drop != null) TrainLoader.Device.Synchronize();
            long stepStart = Stopwatch.GetTimestamp();
            Parallel?.BeginStep();
            drop?.BeginStep();
            for (int m = 0; m < micro; m++)
            {
                // Past DropCompute's threshold the step's remaining micro-batches stay in the loader for the next step.
                if (drop != null && !drop.BeforeMicroBatch()) break;
                if (!batches.MoveNext()) throw new InvalidOperationException($"trainer: the loader ran out of batches in step {b + 1} of {steps}");
                var batch = batches.Current;
                var output = Model.Call(batch.Inputs);
                var loss = Loss(output, batch);
                // Its forward ended past the threshold: discard it before its backward.
                if (drop != null && !drop.BeforeBackward()) { loss = output = null!; break; }
                var objective = loss;
                foreach (var method in Methods)
                    if (method.Penalty() is { } penalty) objective += penalty;
                Parallel?.PrepareBackward(last: m == micro - 1 && drop == null);
                objective.Backward();
                objective = null!;
                double l = loss.Item();
                if (!double.IsFinite(l)) throw Diverged($"loss became {l} at epoch {epoch}, batch {b * micro + m + 1}");
                // Unoptimised (tier-0) JIT code keeps locals alive to the end of the method; drop the graph
                // explicitly so the step scope's collection frees this step's buffers for the next step.
                loss = output = null!;
                lossSum += l * batch.Size;
                seen += batch.Size;
                drop?.AfterMicroBatch();
            }
            // DropCompute's random-drop mode: this rank's gradient counts as zeros in the mean.
            if (drop is { DiscardGradient: true }) Optimizer.ZeroGrad();
            Parallel?.ReduceGradients(drop?.Options.Normalization == DropComputeNormalization.Actual ? drop.Contributed : null);
            if (ClipGradNorm > 0) GradClip.ClipGradNorm(Optimizer.Parameters, ClipGradNorm);
            Optimizer.Step();
            drop?.EndStep(Stopwatch.GetElapsedTime(stepStart).TotalSeconds);
            int ranks = Parallel?.Group.Size ?? 1;
            foreach (var cb in Callbacks) cb.OnBatchEnd(epoch, b + 1, steps, lossSum / seen, ranks * seen / sw.Elapsed.TotalSeconds);
        }
        double secs = sw.Elapsed.TotalSeconds;
        var (trainingMb, processMb) = PeakMemory.WindowPeakMb(_memoryBaseline);
        if (Parallel != null) (lossSum, seen) = Sum(lossSum, seen);
        var figures = new Dictionary<string, object>();
        foreach (var method in Methods) method.CollectEpochFigures(figures);
        Parallel?.CollectEpochFigures(figures);
        return new EpochMetrics
        {
            Epoch = epoch, TrainLoss = lossSum / seen, TestLoss = double.NaN, TestAccuracy = double.NaN,
            SamplesPerSecond = seen / secs, Seconds = secs,
            LearningRate = Optimizer.LearningRate,
            PeakMemoryMb = trainingMb, PeakRssMb = processMb, Extra = figures.Count > 0 ? figures : null,
        };
    }

    (double, double) Sum(double a, double b)
    {
        var s = Parallel!.SumOverRanks(a, b);
        return (s[0], s[1]);
    }

    (double, double, double) Sum(double a, double b, double c)
    {
        var s = Parallel!.SumOverRanks(a, b, c);
        return (s[0], s[1], s[2]);
    }

    /// <summary>Rank 0's resume point on every rank: the last completed epoch (0: none) and, after one, the
    /// checkpoint's weights, optimizer state and generator state.</summary>
    int ShareCheckpoint(int epoch)
    {
        var p = Parallel!;
        Span<int> head = [epoch];
        p.Group.Broadcast(head, 0);
        if (head[0] == 0) return 0;
        var generator = Generator.Default.State;
        p.Group.Broadcast(MemoryMarshal.Cast<ulong, long>(generator.AsSpan()), 0);
        Generator.Default.State = generator;
        var model = p.BroadcastTensors(p.IsRoot ? Model.StateDict().ToDictionary(e => e.Key, e => e.Value) : null);
        var optimizer = p.BroadcastTensors(p.IsRoot ? Optimizer.StateDict() : null);
        if (!p.IsRoot) { Model.LoadStateDict(model); Optimizer.LoadStateDict(optimizer); }
        return head[0];
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
