using System.Text.Json;
using Frugal.Tests.Cli;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.LocalLearning;

/// <summary>Training memory of sequential partition-wise vs end-to-end training over whole epochs, each in its own
/// process through the CLI (an in-process high-water mark would include the other tests').</summary>
public class PartitionMemoryTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-partition-mem-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void Sequential_partitions_need_less_training_memory_than_end_to_end_over_many_steps()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(1536, 4, 1), SyntheticImages.Make(100, 4, 2));
        double Peak(string name, params string[] flags)
        {
            var run = Path.Combine(_dir, name);
            var r = FrugalProcess.Run(TimeSpan.FromMinutes(4), ["train", "--model", "cnn", "--data-dir", data, "--batch-size", "128",
                "--epochs", "2", "--lr", "0.02", "--out", run, .. flags]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            return File.ReadLines(Path.Combine(run, "metrics.jsonl")).Max(l => JsonDocument.Parse(l).RootElement.GetProperty("peak_memory_mb").GetDouble());
        }
        double e2e = Peak("e2e");
        if (e2e == 0) return;   // no /proc: the OS does not say
        double partitioned = Peak("k2", "--partitions", "2");
        // 24 steps: buffers promoted between the partitions' scopes, never reused, grew the pool past end to end's
        // (≈ 2×) before the full collection once a batch; with it ≈ 0.75×.
        Assert.True(partitioned < 0.9 * e2e, $"partitions 2 {partitioned:F0} MiB, end to end {e2e:F0} MiB");
    }
}
