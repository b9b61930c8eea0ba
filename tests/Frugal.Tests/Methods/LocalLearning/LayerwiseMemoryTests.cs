using System.Text.Json;
using Frugal.Tests.Cli;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.LocalLearning;

/// <summary>Training memory of layer-wise vs end-to-end training, each in its own process through the CLI (one
/// process's high-water mark; the test runner's other tests would blur an in-process figure).</summary>
public class LayerwiseMemoryTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-layerwise-mem-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void A_layerwise_cnn_run_needs_much_less_training_memory_than_end_to_end()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(256, 4, 1), SyntheticImages.Make(100, 4, 2));
        double Peak(string name, params string[] flags)
        {
            var run = Path.Combine(_dir, name);
            var r = FrugalProcess.Run(TimeSpan.FromMinutes(4), ["train", "--model", "cnn", "--data-dir", data, "--batch-size", "128", "--out", run, .. flags]);
            Assert.True(r.ExitCode == 0, r.Stderr);
            return File.ReadLines(Path.Combine(run, "metrics.jsonl")).Max(l => JsonDocument.Parse(l).RootElement.GetProperty("peak_memory_mb").GetDouble());
        }
        double e2e = Peak("e2e", "--epochs", "1");
        if (e2e == 0) return;   // no /proc: the OS does not say
        double layerwise = Peak("layerwise", "--epochs", "6", "--layerwise", "--cache", "off");
        // Measured ≈ 0.4×: one stage's activations instead of the network's.
        Assert.True(layerwise < 0.7 * e2e, $"layer-wise {layerwise:F0} MiB, end to end {e2e:F0} MiB");
    }
}
