using Frugal.Data;
using Frugal.Methods.LocalLearning;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Training;

namespace Frugal.Tests.Methods.LocalLearning;

public class PartitionTrainingTests
{
    static readonly ImageDataset Train = SyntheticImages.Make(192, 4, seed: 1);
    static readonly ImageDataset Test = SyntheticImages.Make(64, 4, seed: 2);

    static Sequential Cnn(ulong seed = 3) => (Sequential)ModelZoo.Build("cnn", new ModelOptions(Width: 4, Classes: 4), seed);
    static DataLoader Loader(int batch = 32) => new(Train, batch, shuffle: true, seed: 5, dropLast: true);
    static Optimizer Sgd(Module m) => new Sgd(m.Parameters(), 0.05, momentum: 0.9, weightDecay: 5e-4);

    static PartitionTraining Partitioned(Sequential model, int k, PartitionSchedule schedule = PartitionSchedule.Sequential,
        LossFunction? loss = null, RunFolder? run = null) =>
        new(model, new PartitionOptions { K = k, Schedule = schedule }, Sgd, Loader(), new DataLoader(Test, 32, shuffle: false), loss, run, new Generator(7));

    static float[] Weights(Module m) => m.StateDict().SelectMany(e => e.Value.ToArray()).ToArray();

    [Fact]
    public void One_partition_is_end_to_end_training_bit_for_bit()
    {
        var reference = Cnn();
        var trainer = new Trainer(reference, Sgd(reference), Loader(), new DataLoader(Test, 32, shuffle: false));
        var expected = trainer.Run(2);
        var model = Cnn();
        var partitioned = Partitioned(model, 1);
        Assert.DoesNotContain(partitioned.Partitions, p => p.Head != null);
        var got = partitioned.Run(2);
        Assert.Equal(Weights(reference), Weights(model));
        Assert.Equal(expected.Select(m => m.TrainLoss), got.Select(m => m.TrainLoss));
        Assert.Equal(expected.Select(m => m.TestAccuracy), got.Select(m => m.TestAccuracy));
    }

    /// <summary>A partition's gradient is its own head's loss gradient alone: were its output passed on undetached,
    /// the next partition's backward would add to it.</summary>
    [Fact]
    public void No_gradient_crosses_a_partition_boundary()
    {
        var model = Cnn();
        var t = Partitioned(model, 2);
        var first = t.Partitions[0];
        var batch = Loader().Epoch(1).First();
        // The reference: partition 1's gradient from its own local loss, on a copy of the weights before the step.
        var copy = Cnn();
        copy.LoadStateDict(model.StateDict().ToDictionary(e => e.Key, e => Tensor.FromArray(e.Value.ToArray(), e.Value.Shape)));
        var copyParts = ModelStages.Partition(copy, 2);
        var head = AuxiliaryHead.Create(ModelStages.OutputShape(copyParts[0], new Shape([1, 28, 28])), 4, 0, new Generator(1));
        head.LoadStateDict(first.Head!.StateDict().ToDictionary(e => e.Key, e => Tensor.FromArray(e.Value.ToArray(), e.Value.Shape)));
        head.Call(copyParts[0].Call(batch.Inputs)).CrossEntropy(batch.Labels!).Backward();
        var expected = copyParts[0].Parameters().Select(p => p.Grad!.ToArray()).ToList();

        t.Train([batch]);
        var got = first.Body.Parameters().Select(p => p.Grad!.ToArray()).ToList();
        Assert.Equal(expected.Count, got.Count);
        for (int i = 0; i < got.Count; i++) Assert.Equal(expected[i], got[i]);
    }

    /// <summary>What a partition passes on is a leaf: the next partition's backward computes no gradient for its
    /// input (its first layer skips dX) and writes none into the tensor the partition before produced.</summary>
    [Fact]
    public void A_partition_passes_its_output_on_detached()
    {
        var t = Partitioned(Cnn(), 2);
        var batch = Loader().Epoch(1).First();
        var loss = Frugal.Training.LossFunctions.CrossEntropy();
        var y = t.Partitions[0].Step(batch, loss, null, 0, 0);
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        t.Partitions[1].Step(batch with { Inputs = y }, loss, null, 0, 0);
        Assert.Null(y.Grad);
    }

    [Fact]
    public void An_upstream_partition_trains_through_its_own_head_when_the_last_one_is_frozen()
    {
        var model = Cnn();
        var t = Partitioned(model, 3);
        t.Partitions[^1].Optimizer.LearningRate = 0;
        var before = t.Partitions.Select(p => Weights(p.Body)).ToList();
        t.Train(Loader().Epoch(1).Take(2));
        Assert.NotEqual(before[0], Weights(t.Partitions[0].Body));
        Assert.NotEqual(before[1], Weights(t.Partitions[1].Body));
        // Its weights stay; BatchNorm's running statistics (buffers, not trained) still move, so compare parameters.
        var frozen = t.Partitions[^1].Body.Parameters().SelectMany(p => p.ToArray()).ToArray();
        Assert.Equal(ModelStages.Partition(Cnn(), 3)[^1].Parameters().SelectMany(p => p.ToArray()), frozen);
    }

    [Fact]
    public void Pipelined_overlaps_batches_and_computes_what_sequential_does_bit_for_bit()
    {
        var sequential = Cnn();
        var a = Partitioned(sequential, 3).Run(2);
        var pipelined = Cnn();
        var b = Partitioned(pipelined, 3, PartitionSchedule.Pipelined).Run(2);
        Assert.Equal(Weights(sequential), Weights(pipelined));
        Assert.Equal(a.Select(m => m.TestAccuracy), b.Select(m => m.TestAccuracy));
        Assert.Equal(1, Convert.ToInt32(a[^1].Extra!["partition_max_in_flight"]));
        // Partition 1 started a batch before partition 3 finished the one before: the partitions ran at once.
        Assert.True(Convert.ToInt32(b[^1].Extra!["partition_max_in_flight"]) > 1, "no two batches were ever in flight at once");
        Assert.True(b[^1].TestAccuracy > 0.5, $"test accuracy {b[^1].TestAccuracy}");
        foreach (var p in new[] { 1, 2, 3 }) Assert.True(b[^1].Extra!.ContainsKey($"partition{p}_test_accuracy"));
    }

    [Theory]
    [InlineData(PartitionSchedule.Sequential)]
    [InlineData(PartitionSchedule.Pipelined)]
    public async Task A_failing_partition_stops_the_run_with_its_error_and_no_hang(PartitionSchedule schedule)
    {
        int calls = 0;
        LossFunction loss = (output, batch) =>
        {
            // The sixth local loss fails, on whichever partition's thread computes it.
            if (Interlocked.Increment(ref calls) == 6) throw new InvalidDataException("boom");
            return output.CrossEntropy(batch.Labels!);
        };
        var t = Partitioned(Cnn(), 3, schedule, loss);
        var run = Task.Run(() => t.Run(1));
        Assert.True(await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60))) == run, "the run hung after a partition failed");
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => run);
        Assert.Equal("boom", e.Message);
    }

    [Fact]
    public void A_resumed_run_continues_exactly()
    {
        string dir = Directory.CreateTempSubdirectory("frugal-partitions-").FullName;
        try
        {
            var straight = Cnn();
            var expected = Partitioned(straight, 2).Run(2);
            var first = Cnn();
            Partitioned(first, 2, run: new RunFolder(dir)).Run(1);
            var resumed = Cnn(seed: 99);
            var got = Partitioned(resumed, 2, PartitionSchedule.Pipelined, run: new RunFolder(dir)).Run(2, resume: true);
            Assert.Equal(Weights(straight), Weights(resumed));
            Assert.Equal(expected.Select(m => m.TrainLoss), got.Select(m => m.TrainLoss));
            Assert.Equal(2, File.ReadAllLines(Path.Combine(dir, "metrics.jsonl")).Length);
            // model.safetensors holds the model under its own keys, nothing of the heads.
            var saved = Frugal.Checkpoints.SafeTensors.Load(Path.Combine(dir, "model.safetensors"));
            Assert.Equal(straight.StateDict().Select(e => e.Key).Order(), saved.Tensors.Keys.Order());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_checkpoint_of_other_partitions_is_refused_naming_the_file()
    {
        string dir = Directory.CreateTempSubdirectory("frugal-partitions-").FullName;
        try
        {
            Partitioned(Cnn(), 2, run: new RunFolder(dir)).Run(1);
            var e = Assert.Throws<InvalidDataException>(() => Partitioned(Cnn(), 3, run: new RunFolder(dir)).Run(2, resume: true));
            Assert.Contains("checkpoint.safetensors", e.Message);
            Assert.Contains("2 partitions", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
