using Frugal.Checkpoints;
using Frugal.IO;
using Frugal.Models;
using Frugal.Runs;
using Frugal.Training;

namespace Frugal.Tests.Training;

/// <summary>
/// The run folder against faults and adversaries: an --out that is a file, links planted at every name Frugal writes,
/// leftovers of a killed run, torn metrics lines, a full disk, divergence after an epoch.
/// </summary>
[Collection(DefaultGeneratorCollection.Name)]
public class RunFolderTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-runfolder-" + Guid.NewGuid().ToString("N")[..8]);
    public RunFolderTests() => Directory.CreateDirectory(_dir);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static readonly Frugal.Data.ImageDataset Train = SyntheticImages.Make(128, 4, 1);
    static readonly Frugal.Data.ImageDataset Test = SyntheticImages.Make(64, 4, 2);

    static TrainOptions Tiny(string outDir, int epochs = 2) => new()
    {
        Model = "mlp", ModelOptions = new ModelOptions(Hidden: [8]), Epochs = epochs, BatchSize = 32, Seed = 3, Out = outDir,
    };

    static readonly string[] Written = ["config.json", "metrics.jsonl", "model.safetensors", "checkpoint.safetensors"];

    [Fact]
    public void An_out_path_that_is_a_file_is_refused()
    {
        var file = Path.Combine(_dir, "taken");
        File.WriteAllText(file, "mine");
        var e = Assert.Throws<IOException>(() => new RunFolder(file));
        Assert.Contains(file, e.Message);
        Assert.Contains("is a file", e.Message);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void Links_planted_at_every_written_name_are_replaced_never_followed()
    {
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        var victims = new Dictionary<string, string>();
        foreach (var name in Written)
        {
            var victim = Path.Combine(_dir, "outside-" + name);
            File.WriteAllText(victim, "do not touch");
            File.CreateSymbolicLink(Path.Combine(run, name), victim);
            victims[name] = victim;
        }
        Recipe.Fit(Tiny(run), Train, Test);
        foreach (var (name, victim) in victims)
        {
            Assert.Equal("do not touch", File.ReadAllText(victim));
            Assert.Null(new FileInfo(Path.Combine(run, name)).LinkTarget);      // a regular file of the run now
        }
        Assert.Equal(2, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
    }

    [Fact]
    public void A_folder_where_a_file_goes_is_a_clear_error_and_nothing_else_changes()
    {
        var target = Path.Combine(_dir, "config.json");
        Directory.CreateDirectory(target);
        var e = Assert.Throws<IOException>(() => AtomicFile.WriteAllText(target, "{}"));
        Assert.Contains(target, e.Message);
        Assert.Contains("is a folder", e.Message);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Leftover_temporaries_of_a_killed_run_are_removed_when_the_folder_is_opened()
    {
        var stale = Path.Combine(_dir, "checkpoint.safetensors.0123abcd" + AtomicFile.Suffix);
        File.WriteAllText(stale, "half a checkpoint");
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "the user's");
        _ = new RunFolder(_dir);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(Path.Combine(_dir, "notes.txt")));
    }

    [Fact]
    public void A_torn_last_metrics_line_is_the_interrupted_epoch_and_is_dropped_any_other_bad_line_is_named()
    {
        var run = Path.Combine(_dir, "run");
        var full = Recipe.Fit(Tiny(run, epochs: 3), Train, Test);
        var metrics = Path.Combine(run, "metrics.jsonl");
        var lines = File.ReadAllLines(metrics);
        File.WriteAllText(metrics, lines[0] + "\n" + lines[1] + "\n" + lines[2][..20]);      // epoch 3's line torn
        var folder = new RunFolder(run);
        Assert.Equal([1, 2], folder.ReadMetrics(upToEpoch: 3).Select(m => m.Epoch));
        File.WriteAllText(metrics, lines[0] + "\n" + lines[0] + "\n{\"epoch\": 2, oops\n" + lines[2] + "\n");
        var e = Assert.Throws<InvalidDataException>(() => folder.ReadMetrics(upToEpoch: 3));
        Assert.Contains(metrics, e.Message);
        Assert.Contains("line 3", e.Message);
        File.WriteAllText(metrics, lines[0] + "\n" + lines[0] + "\n" + lines[1] + "\n");         // a duplicate: kept once
        Assert.Equal([1, 2], folder.ReadMetrics(upToEpoch: 3).Select(m => m.Epoch));
        Assert.Equal(full[1].TrainLoss, folder.ReadMetrics(upToEpoch: 3)[1].TrainLoss);
    }

    [Fact]
    public void A_checkpoint_of_a_stateless_optimizer_is_not_resumed_with_another()
    {
        var run = Path.Combine(_dir, "run");
        Recipe.Fit(Tiny(run, epochs: 1) with { Momentum = 0 }, Train, Test);        // SGD without momentum: no optimizer state
        var e = Assert.Throws<InvalidDataException>(() => Recipe.Fit(Tiny(run) with { Optimizer = OptimizerKind.Adam }, Train, Test, resume: true));
        Assert.Contains(Path.Combine(run, "checkpoint.safetensors"), e.Message);
        Assert.Contains("SGD", e.Message);
        Assert.Contains("Adam", e.Message);
    }

    /// <summary>Poisons a weight after the training part of an epoch, so that epoch's evaluation and weights are not finite.</summary>
    sealed class PoisonBeforeEvaluation(Trainer t, int epoch) : ITrainingCallback
    {
        public void OnEvaluate(int e)
        {
            if (e == epoch) t.Model.Parameters().Last().Span[0] = float.NaN;
        }
    }

    [Fact]
    public void Non_finite_test_loss_or_weights_stop_the_run_before_the_checkpoint_is_overwritten()
    {
        var run = Path.Combine(_dir, "run");
        var t = RunBuilder.Build(Tiny(run, epochs: 3), Train, Test);
        t.Callbacks.Add(new PoisonBeforeEvaluation(t, epoch: 2));
        var e = Assert.Throws<TrainingDivergedException>(() => t.Run(3));
        Assert.Contains("epoch 2 ended with test loss NaN", e.Message);
        Assert.Contains(run, e.Message);
        Assert.Equal("1", SafeTensors.Load(Path.Combine(run, "checkpoint.safetensors")).Metadata["epoch"]);
        Assert.Equal("1", SafeTensors.Load(Path.Combine(run, "model.safetensors")).Metadata["epoch"]);
        Assert.Single(File.ReadAllLines(Path.Combine(run, "metrics.jsonl")));

        // Without a test set the weights themselves are checked.
        var model = ModelZoo.Build("mlp", new ModelOptions(Hidden: [8]));
        var bare = new Trainer(model, new Frugal.Optim.Sgd(model.Parameters(), 0.05), new Frugal.Data.DataLoader(Train, 32, shuffle: false),
            run: new RunFolder(Path.Combine(_dir, "bare")));
        bare.Callbacks.Add(new PoisonBeforeEvaluation(bare, epoch: 1));
        Assert.Contains("non-finite values in '3.bias'", Assert.Throws<TrainingDivergedException>(() => bare.Run(1)).Message);
        Assert.False(File.Exists(Path.Combine(_dir, "bare", "checkpoint.safetensors")));
    }

    /// <summary>Fills the disk at the end of an epoch, so the next epoch's writes find no space.</summary>
    sealed class FillDisk(string folder, int afterEpoch) : ITrainingCallback
    {
        public void OnEpochEnd(EpochMetrics m)
        {
            if (m.Epoch != afterEpoch) return;
            using var f = new FileStream(Path.Combine(folder, "filler"), FileMode.CreateNew);
            var block = new byte[4096];
            try { while (true) { f.Write(block); f.Flush(); } }
            catch (IOException) { }
        }
    }

    /// <summary>A real full disk: a 1 MiB tmpfs (needs root, as CI has; skipped with the reason otherwise).</summary>
    [TmpfsFact]
    public void A_full_disk_is_one_clear_error_the_last_epochs_files_stay_intact_and_no_temporary_is_left()
    {
        var mount = Path.Combine(_dir, "small");
        Directory.CreateDirectory(mount);
        Assert.True(Tmpfs.Run("mount", $"-t tmpfs -o size=1m tmpfs {mount}", out var why), why);
        try
        {
            var run = Path.Combine(mount, "run");
            var t = RunBuilder.Build(Tiny(run, epochs: 3), Train, Test);
            t.Callbacks.Add(new FillDisk(mount, afterEpoch: 1));
            var e = Assert.Throws<IOException>(() => t.Run(3));
            Assert.Contains(run, e.Message);
            Assert.Contains("the previous file is intact", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            File.Delete(Path.Combine(mount, "filler"));
            Assert.Empty(Directory.GetFiles(run, "*" + AtomicFile.Suffix));
            Assert.Equal("1", SafeTensors.Load(Path.Combine(run, "checkpoint.safetensors")).Metadata["epoch"]);
            Assert.Single(File.ReadAllLines(Path.Combine(run, "metrics.jsonl")));
            // and the run resumes from it
            var resumed = RunBuilder.Build(Tiny(run, epochs: 3), Train, Test).Run(3, resume: true);
            Assert.Equal([1, 2, 3], resumed.Select(m => m.Epoch));
        }
        finally { Tmpfs.Run("umount", mount, out _); }
    }
}
