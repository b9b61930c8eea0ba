extern alias CustomLoop;
extern alias TrainerResume;

namespace Frugal.Tests.Samples;

/// <summary>The samples in samples/ run here on tiny data: a user's own module, a hand-written loop with a gradient
/// method, and the same model under the Trainer with a run folder and resume.</summary>
public class SamplesTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-samples-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void Custom_loop_learns_with_pruned_neural_gradients()
    {
        var r = CustomLoop::Frugal.Samples.CustomLoopSample.Run(perClass: 100, epochs: 10);
        Assert.True(r.LastEpochLoss < 0.7 * r.FirstEpochLoss, $"loss {r.FirstEpochLoss:F3} -> {r.LastEpochLoss:F3}");
        Assert.True(r.Accuracy > 0.7, $"accuracy {r.Accuracy:F3}");
        // The method acted: the hooked gradients are ~80% zeros (ReLU alone leaves far fewer exact zeros in them).
        Assert.InRange(r.GradientSparsity, 0.75, 0.85);
    }

    /// <summary>A figure of this run, or one read back from metrics.jsonl (epochs before the resume).</summary>
    static double Number(object v) => v is System.Text.Json.JsonElement e ? e.GetDouble() : Convert.ToDouble(v);

    [Fact]
    public void Trainer_sample_resumes_exactly_and_writes_the_run_folder()
    {
        var (full, resumed) = TrainerResume::Frugal.Samples.TrainerResumeSample.Run(_dir, epochs: 3, interruptAfter: 1);
        Assert.Equal(3, resumed.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(full[i].TrainLoss, resumed[i].TrainLoss);
            Assert.Equal(full[i].TestLoss, resumed[i].TestLoss);
            Assert.Equal(Number(full[i].Extra!["grad_sparsity"]), Number(resumed[i].Extra!["grad_sparsity"]));
        }
        var folder = Path.Combine(_dir, "resumed");
        foreach (var f in new[] { "metrics.jsonl", "model.safetensors", "checkpoint.safetensors" })
            Assert.True(File.Exists(Path.Combine(folder, f)), f);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(folder, "metrics.jsonl")).Length);
        var keys = Frugal.Checkpoints.SafeTensors.Load(Path.Combine(folder, "model.safetensors")).Tensors.Keys;
        Assert.Equal(["input.weight", "input.bias", "hidden.weight", "hidden.bias", "output.weight", "output.bias"], keys.ToArray());
    }
}
