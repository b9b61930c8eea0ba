using Frugal.Data;
using Frugal.Methods.LocalLearning;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Runs;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>
/// `frugal bench memory`: the largest batch whose training fits under a memory cap (<see cref="LargestBatch"/>),
/// end-to-end and, with --partitions K, partition-wise in both schedules (METHODS.md §4.4). Each probe trains a fresh
/// model for a few steps on random images of the batch size and measures training memory above the resident size
/// before it. The sequential schedule holds one partition's graph at a time; the pipelined one all K at once, plus
/// up to queue_depth activations between each pair.
/// </summary>
static class MemoryBench
{
    public static void Run(TrainOptions o, double capMb, int maxBatch, int steps)
    {
        if (capMb <= 0) throw new ArgumentException($"--cap-mb must be positive, got {capMb}");
        if (steps < 1) throw new ArgumentException($"--steps must be at least 1, got {steps}");
        var configs = new List<(string Name, PartitionOptions Options)> { ("end-to-end", new PartitionOptions { K = 1 }) };
        if (o.Partitions is { K: > 1 } p)
        {
            configs.Add(($"partitions {p.K} sequential", p with { Schedule = PartitionSchedule.Sequential }));
            configs.Add(($"partitions {p.K} pipelined (queue {p.QueueDepth})", p with { Schedule = PartitionSchedule.Pipelined }));
        }
        Console.WriteLine($"largest batch of model {o.Model} under {capMb:F0} MiB of training memory ({steps} training steps per probe, batches up to {maxBatch})");
        Console.WriteLine("| training | largest batch | MiB at it | MiB at batch 128 |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var (name, options) in configs)
        {
            var measured = new Dictionary<int, double>();
            double Measure(int b) => measured.TryGetValue(b, out var mb) ? mb : measured[b] = Probe(o, options, b, steps);
            int best = LargestBatch.Search(b => Measure(b) <= capMb, maxBatch);
            Console.WriteLine($"| {name} | {best} | {(best > 0 ? Measure(best) : double.NaN):F1} | {Measure(128):F1} |");
        }
    }

    /// <summary>Training memory (MiB) of <paramref name="steps"/> steps at <paramref name="batch"/>.</summary>
    static double Probe(TrainOptions o, PartitionOptions options, int batch, int steps)
    {
        var model = (Sequential)ModelZoo.Build(o.Model, o.ModelOptions, o.Seed);
        var g = new Generator(o.Seed);
        int n = batch * steps;
        var pixels = new byte[n * 784];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)g.NextInt(256);
        var labels = Enumerable.Range(0, n).Select(_ => g.NextInt(o.ModelOptions.Classes)).ToArray();
        var data = new ImageDataset(pixels, labels, 1, 28, 28, o.ModelOptions.Classes);
        var loader = new DataLoader(data, batch, shuffle: false, dropLast: true);
        var training = new PartitionTraining(model, options, m => OptimizerFactory.Create(o, m), loader, generator: new Generator(o.Seed));
        return LargestBatch.TrainingMemoryMb(() => training.Train(loader.Epoch(1)));
    }
}
