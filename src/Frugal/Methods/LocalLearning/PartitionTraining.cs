using System.Diagnostics;
using Frugal.Autograd;
using Frugal.Data;
using Frugal.Diagnostics;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// Partition-wise training (METHODS.md §4.4, PROPOSAL): the model is cut depth-wise into K partitions
/// (<see cref="ModelStages.Partition"/>), each trained on every batch through its own local head and optimizer on the
/// detached output of the partition before it, so no gradient flows between partitions: a partition's graph is freed
/// when its own backward ends (less memory, so a larger batch fits), and partitions need not wait for each other's
/// backward (the <see cref="PartitionSchedule.Pipelined"/> schedule runs them in parallel). K = 1 is end-to-end
/// training, step for step the <see cref="Trainer"/>'s; K = the number of stages is layer-wise training with all
/// layers at once. The last partition learns through the model's own classifier, so the trained model is the user's
/// model, evaluated whole on the test set and saved under its own state-dict keys.
/// <para>Per epoch, as the Trainer: train, evaluate, write one metrics line (each partition's local loss and accuracy
/// in <see cref="EpochMetrics.Extra"/>) and a checkpoint; <c>Run(epochs, resume: true)</c> continues exactly.</para>
/// </summary>
public sealed class PartitionTraining
{
    public Sequential Model { get; }
    public PartitionOptions Options { get; }
    public IReadOnlyList<LocalPartition> Partitions { get; }
    public DataLoader TrainLoader { get; }
    public DataLoader? TestLoader { get; }
    /// <summary>Every partition's objective on its local logits (default: cross-entropy on the batch's labels).</summary>
    public LossFunction Loss { get; }
    public RunFolder? RunFolder { get; }
    /// <summary>The learning rate of every partition's optimizer per step (null: the optimizers' own).</summary>
    public ILrSchedule? Schedule { get; init; }
    /// <summary>Clip each partition's gradient L2 norm (its body and head together) to this value (0 = off).</summary>
    public double ClipGradNorm { get; init; }
    /// <summary>The resident size training memory is counted from (null: taken when <see cref="Run"/> starts).</summary>
    public long? MemoryBaseline { get; init; }
    /// <summary>Progress observers; under the pipelined schedule <c>OnBatchEnd</c> is called on the last partition's thread.</summary>
    public List<ITrainingCallback> Callbacks { get; } = [];

    /// <param name="model">On the device of <paramref name="train"/>'s batches; cut into <see cref="PartitionOptions.K"/> partitions.</param>
    /// <param name="options">K, the schedule, the queue depth and the heads' depth.</param>
    /// <param name="optimizer">Builds one partition's optimizer over the parameters of the module it is given (its body and head).</param>
    /// <param name="train">Training batches (shuffled by the loader's seed and the epoch).</param>
    /// <param name="test">Evaluated after every epoch (null: no evaluation; test figures are NaN).</param>
    /// <param name="loss">Every partition's objective (default: cross-entropy on the batch's labels).</param>
    /// <param name="run">The run folder (null: nothing is written, and there is nothing to resume).</param>
    /// <param name="generator">Initialises the local heads (null: a generator seeded 0).</param>
    public PartitionTraining(Sequential model, PartitionOptions options, Func<Module, Optimizer> optimizer, DataLoader train,
        DataLoader? test = null, LossFunction? loss = null, RunFolder? run = null, Generator? generator = null)
    {
        options.Validate();
        Model = model; Options = options; TrainLoader = train; TestLoader = test; RunFolder = run;
        Loss = loss ?? LossFunctions.CrossEntropy();
        if (train.Count == 0)
            throw new ArgumentException($"partitions: the training loader makes no batch of {train.BatchSize} from {train.Data.Count} examples");
        var device = train.Device;
        var shape = InputShape(train.Data);
        var output = ModelStages.OutputShape(model, shape, device);
        if (output.Rank != 1) throw new ArgumentException($"partitions: the model's output per example is {output}, not class scores [C] for the local heads to match");
        generator ??= new Generator(0);
        var bodies = ModelStages.Partition(model, options.K);
        var parts = new List<LocalPartition>();
        for (int p = 0; p < bodies.Count; p++)
        {
            Sequential? head = null;
            if (p < bodies.Count - 1)
            {
                shape = ModelStages.OutputShape(bodies[p], shape, device);
                head = AuxiliaryHead.Create(shape, output[0], options.AuxDepth, generator);
                if (device != Device.Cpu) head.To(device);
            }
            parts.Add(new LocalPartition(bodies[p], head, optimizer));
        }
        Partitions = parts;
    }

    static Shape InputShape(IDataset data)
    {
        var x = data.GetBatch([0], Device.Cpu, new Generator(0)).Inputs;
        return new Shape(x.Shape.Dims[1..].ToArray());
    }

    /// <summary>Trains to epoch <paramref name="epochs"/>; with <paramref name="resume"/>, continues after the run
    /// folder's last checkpoint (from epoch 1 when it has none).</summary>
    public IReadOnlyList<EpochMetrics> Run(int epochs, bool resume = false)
    {
        if (epochs < 1) throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "partitions: train at least one epoch");
        int start = 1;
        var history = new List<EpochMetrics>();
        if (resume)
        {
            if (RunFolder == null) throw new InvalidOperationException("partitions: resuming needs a run folder to continue from");
            var state = PartitionCheckpoint.Load(RunFolder, this);
            if (state == null) Say($"resume: no checkpoint in {RunFolder.Path}; starting from epoch 1");
            else
            {
                history.AddRange(RunFolder.ReadMetrics(upToEpoch: state.Epoch));
                RunFolder.SaveModel(Model, state.Epoch);
                Generator.Default.State = state.GeneratorState;
                start = state.Epoch + 1;
                Say($"resume: continuing {RunFolder.Path} after epoch {state.Epoch}");
            }
        }
        RunFolder?.Start(history);
        long baseline = MemoryBaseline ?? PeakMemory.MarkBaseline();
        try
        {
            foreach (var cb in Callbacks) cb.OnRunStart(start, epochs, TrainLoader.Count);
            for (int epoch = start; epoch <= epochs; epoch++) history.Add(RunEpoch(epoch, baseline));
        }
        finally { RunFolder?.Dispose(); }
        return history;
    }

    EpochMetrics RunEpoch(int epoch, long baseline)
    {
        var sw = Stopwatch.StartNew();
        PeakMemory.ResetPeak();
        var pass = Train(TrainLoader.Epoch(epoch), (epoch - 1) * TrainLoader.Count, epoch);
        double secs = sw.Elapsed.TotalSeconds;
        var (trainingMb, processMb) = PeakMemory.WindowPeakMb(baseline);
        var figures = new Dictionary<string, object>
        {
            ["partitions"] = Partitions.Count,
            ["partition_max_in_flight"] = pass.MaxInFlight,
        };
        for (int p = 0; p < Partitions.Count; p++)
        {
            figures[$"partition{p + 1}_loss"] = pass.Loss(p);
            figures[$"partition{p + 1}_accuracy"] = pass.Accuracy(p);
        }
        var m = new EpochMetrics
        {
            Epoch = epoch, TrainLoss = pass.Loss(Partitions.Count - 1), TestLoss = double.NaN, TestAccuracy = double.NaN,
            SamplesPerSecond = pass.Examples / secs, Seconds = secs, LearningRate = Partitions[^1].Optimizer.LearningRate,
            PeakMemoryMb = trainingMb, PeakRssMb = processMb, Extra = figures,
        };
        foreach (var cb in Callbacks) cb.OnEvaluate(epoch);
        if (TestLoader != null)
        {
            sw.Restart();
            var test = Evaluate(TestLoader);
            // As the Trainer: evaluation's large batches leave pooled buffers that would count as the next epoch's memory.
            TestLoader.Device.EmptyCache();
            for (int p = 0; p < Partitions.Count; p++) figures[$"partition{p + 1}_test_accuracy"] = test.Accuracy(p);
            m = m with { TestLoss = test.Loss(Partitions.Count - 1), TestAccuracy = test.Accuracy(Partitions.Count - 1), EvalSeconds = sw.Elapsed.TotalSeconds };
            if (test.Examples > 0 && !double.IsFinite(m.TestLoss))
                throw new TrainingDivergedException($"partitions: epoch {epoch} ended with test loss {m.TestLoss}; stopped" +
                    (RunFolder != null ? $" (the checkpoint of the last completed epoch in {RunFolder.Path} is kept)" : "") + ". Try a lower learning rate.");
        }
        // As the Trainer: the metrics line first, the checkpoint last.
        RunFolder?.AppendMetrics(m);
        if (RunFolder != null) PartitionCheckpoint.Save(RunFolder, this, epoch);
        foreach (var cb in Callbacks) cb.OnEpochEnd(m);
        return m;
    }

    /// <summary>Per-partition sums of one pass over batches: local loss × examples and correct local predictions.</summary>
    public sealed record PassTotals(double[] LossSums, long[] Correct, long Examples, int MaxInFlight)
    {
        public double Loss(int partition) => Examples > 0 ? LossSums[partition] / Examples : double.NaN;
        public double Accuracy(int partition) => Examples > 0 ? (double)Correct[partition] / Examples : double.NaN;
    }

    /// <summary>
    /// Trains every partition on each of <paramref name="batches"/> under <see cref="Options"/>' schedule, the
    /// <paramref name="firstStep"/>-th optimisation step first (for the learning-rate schedule). The loop of
    /// <see cref="Run"/>, open for other loops (e.g. <see cref="LargestBatch"/>'s probes).
    /// </summary>
    public PassTotals Train(IEnumerable<Batch> batches, int firstStep = 0) => Train(batches, firstStep, epoch: 0);

    PassTotals Train(IEnumerable<Batch> batches, int firstStep, int epoch)
    {
        Model.Train();
        foreach (var part in Partitions)
        {
            part.Head?.Train();
            part.LossSum = 0;
            part.Correct = part.Seen = 0;
        }
        int k = Partitions.Count, total = TrainLoader.Count, done = 0;
        var sw = Stopwatch.StartNew();
        var steps = new int[k];
        // One partition's step inside this thread's step scope, so the scope recycles that partition's graph.
        Batch Step(int p, Batch batch)
        {
            using var deviceStep = TrainLoader.Device.BeginStep();
            var y = Partitions[p].Step(batch, Loss, Schedule, firstStep + steps[p]++, ClipGradNorm);
            return batch with { Inputs = y };
        }
        void Done()
        {
            done++;
            var last = Partitions[^1];
            foreach (var cb in Callbacks) cb.OnBatchEnd(epoch, done, total, last.LossSum / last.Seen, last.Seen / sw.Elapsed.TotalSeconds);
        }
        int inFlight = 1;
        if (Options.Schedule == PartitionSchedule.Pipelined && k > 1)
            inFlight = PartitionPipeline.Run(k, Options.QueueDepth, batches, Step, Done);
        else
            foreach (var batch in batches)
            {
                var b = batch;
                for (int p = 0; p < k; p++) b = Step(p, b);
                b = null!;
                Done();
                // What crosses a partition's step scope (its input, its output) outlives that scope's collection and is
                // promoted out of reach of the next ones; a full collection once a batch lets the buffer pool reuse it.
                // Without it the pool allocated two fresh buffers a step and the cnn at K = 2 grew to 518 MiB of training
                // memory in an epoch of 39 steps (198 MiB with it, end to end 257; docs/RESULTS.md).
                if (k > 1) GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            }
        return new PassTotals(Partitions.Select(p => p.LossSum).ToArray(), Partitions.Select(p => p.Correct).ToArray(), Partitions[^1].Seen, inFlight);
    }

    /// <summary>Mean loss and accuracy of every partition's local head, and of the whole model (the last partition),
    /// over <paramref name="loader"/>, in eval mode and without a graph: one pass through the partitions in turn.</summary>
    public PassTotals Evaluate(DataLoader loader)
    {
        int k = Partitions.Count;
        var lossSums = new double[k];
        var correct = new long[k];
        long seen = 0;
        Model.Eval();
        foreach (var part in Partitions) part.Head?.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            foreach (var batch in loader.Epoch(0))
            {
                using var step = loader.Device.BeginStep();
                var x = batch.Inputs;
                for (int p = 0; p < k; p++)
                {
                    var (y, logits) = Partitions[p].Forward(x);
                    lossSums[p] += Loss(logits, batch).Item() * batch.Size;
                    if (batch.Labels is { } labels)
                    {
                        var predicted = logits.ArgMax(1);
                        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == labels[i]) correct[p]++;
                    }
                    x = y;
                }
                seen += batch.Size;
                x = null!;
            }
        }
        finally
        {
            Model.Train();
            foreach (var part in Partitions) part.Head?.Train();
        }
        return new PassTotals(lossSums, correct, seen, 0);
    }

    void Say(string message)
    {
        foreach (var cb in Callbacks) cb.OnMessage(message);
    }
}
