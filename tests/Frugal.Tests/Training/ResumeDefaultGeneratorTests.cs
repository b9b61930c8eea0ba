using Frugal.Models;
using Frugal.Nn;
using Frugal.Runs;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Tests.Training;

/// <summary>Tests that draw from the process-wide <see cref="Generator.Default"/> (which every Trainer reseeds) run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DefaultGeneratorCollection
{
    public const string Name = "default generator (serial)";
}

/// <summary>
/// Resume with consumers of <see cref="Generator.Default"/> during training: no model of the zoo draws from it, so the
/// ordinary resume test passes even if the checkpoint's generator state were never restored. Here a Dropout (which
/// draws its masks from the default generator) sits in the model and a callback draws from it after every batch.
/// </summary>
[Collection(DefaultGeneratorCollection.Name)]
public class ResumeDefaultGeneratorTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-resume-rng-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static readonly Frugal.Data.ImageDataset Train = SyntheticImages.Make(128, 4, 1);
    static readonly Frugal.Data.ImageDataset Test = SyntheticImages.Make(64, 4, 2);

    /// <summary>Records one draw from the default generator at the end of every batch.</summary>
    sealed class Draws : ITrainingCallback
    {
        public readonly List<(int Epoch, int Batch, ulong Value)> Values = [];
        public void OnBatchEnd(int epoch, int batch, int batches, double loss, double samplesPerSecond) =>
            Values.Add((epoch, batch, Generator.Default.NextULong()));
    }

    /// <summary>A tiny mlp (784-16-10) with dropout after the hidden ReLU; 4 batches per epoch.</summary>
    (IReadOnlyList<EpochMetrics> History, List<(int Epoch, int Batch, ulong Value)> Draws) Run(string name, int epochs, bool resume = false)
    {
        var options = new TrainOptions
        {
            Model = "mlp", ModelOptions = new ModelOptions(Hidden: [16]), Epochs = epochs, BatchSize = 32,
            LearningRate = 0.05, Seed = 3, Out = Path.Combine(_dir, name),
        };
        var t = RunBuilder.Build(options, Train, Test);
        ((Sequential)t.Model).ReplaceChild("2", new Sequential(new ReLU(), new Dropout(0.3f)));
        var draws = new Draws();
        t.Callbacks.Add(draws);
        return (t.Run(epochs, resume), draws.Values);
    }

    [Fact]
    public void Resume_restores_the_default_generator_so_dropout_and_callback_draws_match_the_uninterrupted_run()
    {
        var full = Run("full", 3);
        Run("killed", 1);                                           // "killed" after epoch 1
        var resumed = Run("killed", 3, resume: true);
        Assert.Equal(3, resumed.History.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(full.History[i].TrainLoss, resumed.History[i].TrainLoss);
            Assert.Equal(full.History[i].TestLoss, resumed.History[i].TestLoss);
            Assert.Equal(full.History[i].TestAccuracy, resumed.History[i].TestAccuracy);
        }
        Assert.Equal(12, full.Draws.Count);
        Assert.Equal(full.Draws.Skip(4), resumed.Draws);            // epochs 2 and 3, batch for batch, bit for bit
        // The control: the dropout masks come from the default generator (the first callback draw is not the seed's first).
        Assert.NotEqual(new Generator(3).NextULong(), full.Draws[0].Value);
    }
}
