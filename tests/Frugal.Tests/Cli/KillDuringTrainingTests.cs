using System.Diagnostics;
using System.Text.Json;
using Frugal.Checkpoints;
using Frugal.Tests.Training;
using Xunit.Abstractions;

namespace Frugal.Tests.Cli;

/// <summary>
/// kill -9 of the real executable in the middle of its per-epoch writes or between them (epochs of a few
/// milliseconds, the kill timed by watching the run folder), then `--resume`: the metrics hold every epoch exactly once with the uninterrupted run's
/// values, model.safetensors and the checkpoint are of the last epoch, and no temporary file is left.
/// </summary>
public class KillDuringTrainingTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-kill-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    const int Epochs = 12;

    string[] Train(string data, string run, bool resume = false) =>
    [
        "train", "--model", "mlp", "--hidden", "8", "--epochs", $"{Epochs}", "--batch-size", "32", "--train-limit", "256",
        "--test-limit", "64", "--seed", "2", "--data-dir", data, "--out", run, .. resume ? new[] { "--resume" } : [],
    ];

    static double[] TrainLosses(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("train_loss").GetDouble()).ToArray();

    static int[] Epochs_(string run) => File.ReadAllLines(Path.Combine(run, "metrics.jsonl"))
        .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("epoch").GetInt32()).ToArray();

    static int MetricsLines(string run)
    {
        try { return File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length; }
        catch (IOException) { return 0; }
    }

    [Fact]
    public void Kill_minus_nine_at_any_moment_then_resume_loses_and_repeats_nothing()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(256, 4, 1), SyntheticImages.Make(64, 4, 2));
        var whole = FrugalProcess.Run(TimeSpan.FromMinutes(2), Train(data, Path.Combine(_dir, "whole")));
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        var expected = TrainLosses(Path.Combine(_dir, "whole"));
        Assert.Equal(Epochs, expected.Length);

        var rng = new Frugal.Tensors.Generator(7);
        for (int trial = 0; trial < 8; trial++)
        {
            var run = Path.Combine(_dir, $"killed{trial}");
            // Kills aimed at the writes: even trials the moment a temporary file of epoch k's writes exists (mid-write),
            // odd trials a few milliseconds after epoch k's metrics line (between the metrics, model and checkpoint).
            int k = 1 + rng.NextInt(Epochs - 1);
            bool midWrite = trial % 2 == 0;
            string how;
            using (var p = FrugalProcess.Start(Train(data, run)))
            {
                var deadline = Stopwatch.StartNew();
                while (!p.HasExited && deadline.Elapsed < TimeSpan.FromMinutes(1))
                {
                    int lines = MetricsLines(run);
                    if (midWrite ? lines >= k && Directory.Exists(run) && Directory.GetFiles(run, "*.frugal-tmp").Length > 0 : lines >= k) break;
                    Thread.Sleep(0);
                }
                if (!midWrite) Thread.Sleep(rng.NextInt(15));
                how = p.HasExited ? "after it finished" : midWrite ? $"while writing after epoch {k}" : $"just after epoch {k}'s metrics line";
                if (!p.HasExited) p.Kill();        // SIGKILL on Unix
                p.WaitForExit();
            }
            string state = Directory.Exists(run)
                ? $"{(File.Exists(Path.Combine(run, "metrics.jsonl")) ? Epochs_(run).Length : 0)} metrics lines, checkpoint epoch " +
                  (File.Exists(Path.Combine(run, "checkpoint.safetensors")) ? SafeTensors.Load(Path.Combine(run, "checkpoint.safetensors")).Metadata["epoch"] : "none") +
                  $", {Directory.GetFiles(run, "*.frugal-tmp").Length} temporaries"
                : "no run folder yet";
            output.WriteLine($"trial {trial}: killed {how}: {state}");

            var resumed = FrugalProcess.Run(TimeSpan.FromMinutes(2), Train(data, run, resume: true));
            Assert.True(resumed.ExitCode == 0, $"trial {trial}: {resumed.Stderr}");
            Assert.Equal(Enumerable.Range(1, Epochs), Epochs_(run));
            Assert.Equal(expected, TrainLosses(run));
            Assert.Equal($"{Epochs}", SafeTensors.Load(Path.Combine(run, "checkpoint.safetensors")).Metadata["epoch"]);
            Assert.Equal($"{Epochs}", SafeTensors.Load(Path.Combine(run, "model.safetensors")).Metadata["epoch"]);
            Assert.Empty(Directory.GetFiles(run, "*.frugal-tmp"));
            Assert.Empty(Directory.GetFiles(run, "*.tmp"));
        }
    }
}
