using Frugal.Data;
using Frugal.Methods;
using Frugal.Methods.Compression;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Samples;

/// <summary>
/// The same model and in-memory data trained by the <see cref="Trainer"/>: a run folder (metrics.jsonl, TensorBoard
/// events, model.safetensors, checkpoint.safetensors), a method, and a resume after an interruption that reproduces
/// the uninterrupted run exactly.
/// </summary>
public static class TrainerResumeSample
{
    static Trainer Build(string runFolder)
    {
        Generator.ManualSeed(7);            // the default generator is checkpointed; seed it for a repeatable run
        var model = new SpiralNet(seed: 2);
        var train = new DataLoader(Spirals.Make(200, seed: 1), batchSize: 50, shuffle: true, seed: 4);
        var test = new DataLoader(Spirals.Make(100, seed: 9), batchSize: 300, shuffle: false);
        ITrainingMethod[] methods = [new NeuralGradientPruning(new GradPruneOptions { Sparsity = 0.8 }, seed: 3)];
        return new Trainer(model, new Sgd(model.Parameters(), learningRate: 0.1, momentum: 0.9), train, test,
            LossFunctions.CrossEntropy(), methods, new RunFolder(runFolder));
    }

    /// <summary>Trains <paramref name="epochs"/> epochs in one go, and again interrupted after <paramref name="interruptAfter"/>
    /// epochs and resumed; returns both histories.</summary>
    public static (IReadOnlyList<EpochMetrics> Uninterrupted, IReadOnlyList<EpochMetrics> Resumed) Run(string folder, int epochs = 6, int interruptAfter = 3)
    {
        var full = Build(Path.Combine(folder, "uninterrupted")).Run(epochs);
        Build(Path.Combine(folder, "resumed")).Run(interruptAfter);
        var resumed = Build(Path.Combine(folder, "resumed")).Run(epochs, resume: true);
        return (full, resumed);
    }
}

public static class Program
{
    public static void Main(string[] args)
    {
        var folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "frugal-sample-runs");
        var (full, resumed) = TrainerResumeSample.Run(folder);
        for (int i = 0; i < full.Count; i++)
            Console.WriteLine($"epoch {full[i].Epoch}: test accuracy {full[i].TestAccuracy:P1} uninterrupted, {resumed[i].TestAccuracy:P1} resumed");
        bool same = full.Zip(resumed).All(p => p.First.TrainLoss == p.Second.TrainLoss && p.First.TestLoss == p.Second.TestLoss);
        Console.WriteLine(same ? $"resumed run identical to the uninterrupted one; run folders in {folder}" : "resumed run DIFFERS");
    }
}
