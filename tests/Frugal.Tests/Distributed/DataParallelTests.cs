using Frugal.Data;
using Frugal.Distributed;
using Frugal.Distributed.Stragglers;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Training;

namespace Frugal.Tests.Distributed;

/// <summary>
/// Data parallelism with ranks as threads (<see cref="InProcessGroup"/>): N ranks on shards of B examples take the
/// same steps as one process on batches of N·B, the ranks' weights stay bit-identical, BatchNorm's running statistics
/// are the ranks' mean, gradients cross in buckets during backward, and micro-batches accumulate.
/// </summary>
[Collection(DefaultGeneratorCollection.Name)]
public class DataParallelTests
{
    sealed class Net : Module
    {
        readonly Linear _a, _b, _c;
        readonly BatchNorm1d? _norm;

        public Net(bool batchNorm)
        {
            var g = new Generator(11);
            _a = Child("a", new Linear(6, 32, generator: g));
            if (batchNorm) _norm = Child("norm", new BatchNorm1d(32));
            _b = Child("b", new Linear(32, 32, generator: g));
            _c = Child("c", new Linear(32, 3, generator: g));
        }

        protected override Tensor Forward(Tensor x)
        {
            var h = _a.Call(x);
            if (_norm != null) h = _norm.Call(h);
            return _c.Call(_b.Call(h.Relu()).Relu());
        }
    }

    static TensorDataset Data(int n, ulong seed)
    {
        var g = new Generator(seed);
        var x = new float[n * 6];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 6; j++) x[6 * i + j] = (float)(2 * g.NextDouble() - 1);
            y[i] = (x[6 * i] + x[6 * i + 1] > 0 ? 1 : 0) + (x[6 * i + 2] > 0.3f ? 1 : 0);
        }
        return new TensorDataset(x, [6], labels: y);
    }

    static readonly TensorDataset Train = Data(384, 1), Test = Data(100, 2);

    /// <summary>Trains <paramref name="epochs"/> on rank <paramref name="group"/>'s shard (or alone) and returns the
    /// weights and the metrics.</summary>
    static (float[][] Weights, IReadOnlyList<EpochMetrics> Metrics, DataParallel? Parallel) Fit(IProcessGroup? group, int batch, int epochs = 2,
        bool batchNorm = false, DataParallelOptions? options = null, DropComputeOptions? drop = null)
    {
        var model = new Net(batchNorm);
        var shard = group == null ? (0, 1) : (group.Rank, group.Size);
        var train = new DataLoader(Train, batch, shuffle: true, seed: 3, dropLast: true) { Shard = shard };
        var test = new DataLoader(Test, 32, shuffle: false) { Shard = shard };
        options ??= new() { BucketMegabytes = 0.002 };
        var parallel = group == null ? null : new DataParallel(model, group, options,
            dropCompute: drop == null ? null : new DropCompute(drop, options.MicroBatches, group, seed: 9));
        var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.1, momentum: 0.9), train, test) { Parallel = parallel };
        var metrics = trainer.Run(epochs);
        return (model.StateDict().Select(p => p.Value.ToArray()).ToArray(), metrics, parallel);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void N_ranks_take_the_steps_of_one_process_on_the_combined_batch(int n)
    {
        var alone = Fit(null, 8 * n);
        var ranks = new (float[][] Weights, IReadOnlyList<EpochMetrics> Metrics, DataParallel? Parallel)[n];
        InProcessGroup.Run(n, g => ranks[g.Rank] = Fit(g, 8));
        Assert.True(ranks[0].Parallel!.Buckets.Count > 1, "the test wants several buckets");
        for (int r = 1; r < n; r++)
            for (int t = 0; t < alone.Weights.Length; t++) Assert.Equal(ranks[0].Weights[t], ranks[r].Weights[t]);
        double moved = 0, differ = 0;
        var start = new Net(false).StateDict().Select(p => p.Value.ToArray()).ToArray();
        for (int t = 0; t < alone.Weights.Length; t++)
            for (int i = 0; i < alone.Weights[t].Length; i++)
            {
                moved = Math.Max(moved, Math.Abs(alone.Weights[t][i] - start[t][i]));
                differ = Math.Max(differ, Math.Abs(alone.Weights[t][i] - ranks[0].Weights[t][i]));
            }
        Assert.True(moved > 0.05, $"training moved the weights by {moved}");
        Assert.True(differ < 2e-5, $"ranks and one process differ by {differ} (weights moved {moved})");
        // Metrics are over all ranks: the same test set, the same loss.
        Assert.Equal(alone.Metrics[^1].TestAccuracy, ranks[0].Metrics[^1].TestAccuracy, 6);
        Assert.Equal(alone.Metrics[^1].TrainLoss, ranks[0].Metrics[^1].TrainLoss, 4);
        var extra = ranks[0].Metrics[^1].Extra!;
        long parameters = alone.Weights.Sum(w => (long)w.Length);
        Assert.Equal((long)Math.Round(2.0 * (n - 1) / n * 4 * parameters), Convert.ToInt64(extra["wire_bytes_per_step"]));
        // Every bucket went out from backward's hooks, the moment its last gradient was accumulated.
        Assert.Equal(ranks[0].Parallel!.Buckets.Count, Convert.ToDouble(extra["buckets_sent_during_backward_per_step"]));
    }

    [Fact]
    public void Without_overlap_the_buckets_go_after_backward_with_the_same_result()
    {
        var runs = new (float[][] Weights, IReadOnlyList<EpochMetrics> Metrics, DataParallel? Parallel)[2][];
        foreach (bool overlap in new[] { true, false })
        {
            var ranks = runs[overlap ? 0 : 1] = new (float[][], IReadOnlyList<EpochMetrics>, DataParallel?)[2];
            InProcessGroup.Run(2, g => ranks[g.Rank] = Fit(g, 8, epochs: 1, options: new() { BucketMegabytes = 0.002, Overlap = overlap }));
        }
        Assert.Equal(0.0, Convert.ToDouble(runs[1][0].Metrics[^1].Extra!["buckets_sent_during_backward_per_step"]));
        for (int t = 0; t < runs[0][0].Weights.Length; t++) Assert.Equal(runs[0][0].Weights[t], runs[1][0].Weights[t]);
    }

    sealed class EpochCounter : ITrainingCallback
    {
        public int Epochs;
        public void OnEpochEnd(EpochMetrics metrics) => Epochs++;
    }

    [Fact]
    public void A_resumed_run_continues_from_rank_0s_checkpoint_on_every_rank_exactly()
    {
        var dir = Path.Combine(Path.GetTempPath(), "frugal-dp-resume-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            float[][] Fit(IProcessGroup g, string name, int epochs, bool resume)
            {
                var model = new Net(false);
                var train = new DataLoader(Train, 8, shuffle: true, seed: 3, dropLast: true) { Shard = (g.Rank, g.Size) };
                var trainer = new Trainer(model, new Sgd(model.Parameters(), 0.1, momentum: 0.9), train,
                    run: g.Rank == 0 ? new RunFolder(Path.Combine(dir, name)) : null) { Parallel = new DataParallel(model, g) };
                var counter = new EpochCounter();
                trainer.Callbacks.Add(counter);
                trainer.Run(epochs, resume);
                if (resume) Assert.Equal(1, counter.Epochs); // it continued after epoch 2 instead of starting again
                return model.StateDict().Select(p => p.Value.ToArray()).ToArray();
            }
            var full = new float[2][][];
            var resumed = new float[2][][];
            InProcessGroup.Run(2, g => full[g.Rank] = Fit(g, "full", 3, false));
            InProcessGroup.Run(2, g => Fit(g, "cut", 2, false));
            InProcessGroup.Run(2, g => resumed[g.Rank] = Fit(g, "cut", 3, true));
            for (int r = 0; r < 2; r++)
                for (int t = 0; t < full[0].Length; t++) Assert.Equal(full[0][t], resumed[r][t]);
            Assert.Equal(File.ReadAllLines(Path.Combine(dir, "full", "metrics.jsonl")).Select(l => l[..l.IndexOf("\"samples_per_second\"")]),
                File.ReadAllLines(Path.Combine(dir, "cut", "metrics.jsonl")).Select(l => l[..l.IndexOf("\"samples_per_second\"")]));
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    [Fact]
    public void DropCompute_in_the_trainer_drops_what_passes_the_threshold_and_the_ranks_stay_identical()
    {
        // A 10 µs threshold passes during every step's first micro-batch, whatever the machine's speed: after the
        // warm-up step each step keeps at most one of its 6 micro-batches.
        var runs = new (float[][] Weights, IReadOnlyList<EpochMetrics> Metrics, DataParallel? Parallel)[2];
        var drop = new DropComputeOptions { Threshold = 1e-5, StragglerDelay = 1, WarmupSteps = 1 };
        InProcessGroup.Run(2, g => runs[g.Rank] = Fit(g, 8, epochs: 1, options: new() { MicroBatches = 6 }, drop: drop));
        var figures = runs[0].Metrics[0].Extra!;
        double rate = Convert.ToDouble(figures["drop_rate"]);
        Assert.InRange(rate, 3 * 5 / 24.0, 3 * 6 / 24.0); // 3 of the 4 steps drop 5 or all 6
        for (int t = 0; t < runs[0].Weights.Length; t++) Assert.Equal(runs[0].Weights[t], runs[1].Weights[t]);
        // The synchronous baseline under the same stragglers drops nothing.
        InProcessGroup.Run(2, g => runs[g.Rank] = Fit(g, 8, epochs: 1, options: new() { MicroBatches = 6 }, drop: drop with { Drop = false }));
        Assert.Equal(0.0, Convert.ToDouble(runs[0].Metrics[0].Extra!["drop_rate"]));
    }

    [Fact]
    public void Actual_normalisation_carries_the_count_in_the_last_bucket_and_divides_by_it()
    {
        // No drops happen (no threshold passes), so actual and nominal normalisation give the same steps; the count
        // costs one value in the exchange, not a collective.
        var nominal = new (float[][] Weights, IReadOnlyList<EpochMetrics> Metrics, DataParallel? Parallel)[2];
        var actual = new (float[][] Weights, IReadOnlyList<EpochMetrics> Metrics, DataParallel? Parallel)[2];
        var drop = new DropComputeOptions { Threshold = 1000 };
        InProcessGroup.Run(2, g => nominal[g.Rank] = Fit(g, 8, epochs: 1, options: new() { MicroBatches = 2 }, drop: drop));
        InProcessGroup.Run(2, g => actual[g.Rank] = Fit(g, 8, epochs: 1, options: new() { MicroBatches = 2 },
            drop: drop with { Normalization = DropComputeNormalization.Actual }));
        for (int t = 0; t < nominal[0].Weights.Length; t++)
            for (int i = 0; i < nominal[0].Weights[t].Length; i++) Assert.Equal(nominal[0].Weights[t][i], actual[0].Weights[t][i], 5);
        long bytes(IReadOnlyList<EpochMetrics> m) => Convert.ToInt64(m[0].Extra!["wire_bytes_per_step"]);
        Assert.Equal(bytes(nominal[0].Metrics) + 4, bytes(actual[0].Metrics)); // 2·(2−1)/2·4 bytes: one more float
    }

    [Fact]
    public void Random_drop_zeroes_whole_rank_gradients_at_the_given_rate()
    {
        var runs = new (float[][] Weights, IReadOnlyList<EpochMetrics> Metrics, DataParallel? Parallel)[2];
        InProcessGroup.Run(2, g => runs[g.Rank] = Fit(g, 4, epochs: 2, drop: new DropComputeOptions { DropRate = 0.3, WarmupSteps = 0 }));
        // 2 epochs × 48 steps per rank: the share dropped is 0.3 within ±5σ (σ ≈ 0.047).
        double rate = runs[0].Metrics.Average(m => Convert.ToDouble(m.Extra!["drop_rate"]));
        Assert.InRange(rate, 0.04, 0.56);
        for (int t = 0; t < runs[0].Weights.Length; t++) Assert.Equal(runs[0].Weights[t], runs[1].Weights[t]);
    }

    [Fact]
    public void A_hand_written_loop_drives_data_parallelism_with_the_same_result_as_the_trainer()
    {
        var trainer = new float[2][][];
        var loop = new float[2][][];
        InProcessGroup.Run(2, g => trainer[g.Rank] = Fit(g, 8, epochs: 1).Weights);
        InProcessGroup.Run(2, g =>
        {
            var model = new Net(false);
            using var parallel = new DataParallel(model, g, new() { BucketMegabytes = 0.002 });
            var optimizer = new Sgd(model.Parameters(), 0.1, momentum: 0.9);
            var loader = new DataLoader(Train, 8, shuffle: true, seed: 3, dropLast: true) { Shard = (g.Rank, g.Size) };
            model.Train();
            foreach (var batch in loader.Epoch(1))
            {
                optimizer.ZeroGrad();
                parallel.BeginStep();
                var loss = LossFunctions.CrossEntropy()(model.Call(batch.Inputs), batch);
                parallel.PrepareBackward(last: true);
                loss.Backward();
                parallel.ReduceGradients();
                optimizer.Step();
            }
            loop[g.Rank] = model.StateDict().Select(p => p.Value.ToArray()).ToArray();
        });
        for (int t = 0; t < trainer[0].Length; t++) Assert.Equal(trainer[0][t], loop[1][t]);
    }

    [Fact]
    public void Micro_batches_accumulate_to_the_step_of_their_union()
    {
        var alone = Fit(null, 32);
        (float[][] Weights, IReadOnlyList<EpochMetrics>, DataParallel?)[] ranks = new (float[][], IReadOnlyList<EpochMetrics>, DataParallel?)[2];
        InProcessGroup.Run(2, g => ranks[g.Rank] = Fit(g, 8, options: new() { MicroBatches = 2 }));
        for (int t = 0; t < alone.Weights.Length; t++)
            for (int i = 0; i < alone.Weights[t].Length; i++)
                Assert.True(Math.Abs(alone.Weights[t][i] - ranks[1].Weights[t][i]) < 2e-5, $"tensor {t}[{i}]: {alone.Weights[t][i]} vs {ranks[1].Weights[t][i]}");
    }

    [Fact]
    public void Under_BatchNorm_ranks_agree_and_running_statistics_are_the_ranks_mean()
    {
        var ranks = new float[2][][];
        InProcessGroup.Run(2, g => ranks[g.Rank] = Fit(g, 16, epochs: 1, batchNorm: true).Weights);
        for (int t = 0; t < ranks[0].Length; t++) Assert.Equal(ranks[0][t], ranks[1][t]);
        // The running mean moved away from its initial zeros.
        var names = new Net(true).StateDict().Select(p => p.Key).ToList();
        Assert.Contains(ranks[0][names.IndexOf("norm.running_mean")], v => Math.Abs(v) > 1e-3);
    }

    [Fact]
    public void The_constructor_gives_every_rank_rank_0s_weights_and_refuses_different_models()
    {
        InProcessGroup.Run(3, g =>
        {
            var model = new Net(false);
            if (g.Rank > 0) foreach (var p in model.Parameters()) p.Span.Fill(g.Rank);
            using var dp = new DataParallel(model, g);
            Assert.Equal(new Net(false).StateDict()[0].Value.ToArray(), model.StateDict()[0].Value.ToArray());
        });
        var e = Assert.Throws<AggregateException>(() => InProcessGroup.Run(2, g => new DataParallel(new Net(g.Rank == 1), g)));
        Assert.Contains("rank 1's model differs from rank 0's", e.InnerExceptions[0].Message);
    }
}
