using Frugal.Tests.Cli;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.LocalLearning;

/// <summary>`frugal train --partitions` through the real executable: a run folder whose model.safetensors
/// `frugal eval` loads as the plain model, and one-line errors for what does not go together.</summary>
public class PartitionCliTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-partitions-cli-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void A_partitioned_run_writes_a_model_that_eval_loads_and_bad_combinations_are_one_line()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(64, 4, 1), SyntheticImages.Make(32, 4, 2));
        string run = Path.Combine(_dir, "run");
        string[] tiny = ["--model", "mlp", "--hidden", "8", "8", "--epochs", "1", "--batch-size", "16", "--data-dir", data];
        var trained = FrugalProcess.Run(TimeSpan.FromMinutes(2), ["train", .. tiny, "--partitions", "3", "--partition-schedule", "pipelined", "--out", run]);
        Assert.True(trained.ExitCode == 0, trained.Stderr);
        Assert.Contains("3 partitions", trained.Stdout);
        var eval = FrugalProcess.Run(TimeSpan.FromMinutes(1), "eval", "--checkpoint", Path.Combine(run, "model.safetensors"), "--data-dir", data);
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        foreach (var (args, expect) in new (string[], string)[]
        {
            (["train", .. tiny, "--queue-depth", "3"], "--queue-depth needs --partitions"),
            (["train", .. tiny, "--partitions", "4"], "--partitions: must be at most the 3 stages"),
            (["train", .. tiny, "--partitions", "2", "--kure", "1"], "does not combine with kure"),
        })
        {
            var r = FrugalProcess.Run(TimeSpan.FromMinutes(1), ["train", .. args[1..]]);
            Assert.Equal(1, r.ExitCode);
            Assert.Single(r.Stderr.TrimEnd().Split('\n'));
            Assert.Contains(expect, r.Stderr);
        }
    }
}
