using Frugal.Methods.Entropy;
using Frugal.Models;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.Entropy;

/// <summary>The entropy report: its figures are the quantised tensors' entropy and coded bits, they reach the epoch's
/// metrics, and they move as the model trains (they would be absent or frozen if the method were not attached).</summary>
[Collection(DefaultGeneratorCollection.Name)]
public class EntropyReportTests
{
    static readonly Frugal.Data.ImageDataset Train = SyntheticImages.Make(256, 4, 1), Test = SyntheticImages.Make(64, 4, 2);

    static Dictionary<string, object> Layer(Frugal.Training.EpochMetrics m, string name) =>
        (Dictionary<string, object>)((Dictionary<string, object>)m.Extra!["entropy_report"])[name];

    [Fact]
    public void Figures_reach_the_metrics_and_change_as_the_model_trains()
    {
        var o = new TrainOptions
        {
            Model = "mlp", ModelOptions = new() { Hidden = [32] }, Epochs = 3, BatchSize = 16, LearningRate = 0.05, Seed = 2,
            EntropyReport = new() { UpdateSamples = 4 },
        };
        var trainer = RunBuilder.Build(o, Train, Test);
        var metrics = trainer.Run(o.Epochs);
        var report = (Dictionary<string, object>)metrics[0].Extra!["entropy_report"];
        Assert.Equal(["1", "3", "all"], report.Keys.Order());
        var first = Layer(metrics[0], "1");
        string[] keys = ["weights", "update", "epoch_update"];
        foreach (var k in keys.SelectMany(w => new[] { $"{w}_fixed_bits", $"{w}_fixed_coded_bits", $"{w}_rms_bits", $"{w}_rms_coded_bits" }))
        {
            double v = (double)first[k];
            Assert.True(v > 0 && v < 12, $"{k} = {v}");
            if (!k.Contains("coded")) Assert.True((double)first[k.Replace("_bits", "_coded_bits")] >= v - 1e-9, $"{k}: coded below the entropy");
        }
        Assert.Equal(784 * 32, first["numel"]);
        // The final weights' figure is the quantiser's on the weights themselves.
        var w = Frugal.Methods.Robustness.WeightLayers.WeightOf(trainer.Model.NamedModules().First(m => m.Name == "1").Module).ToArray();
        Assert.Equal(Math.Round(QuantizedEntropy.RmsRelative(w, 4).EntropyBits, 4), (double)Layer(metrics[^1], "1")["weights_rms_bits"]);
        Assert.Equal(Math.Round(QuantizedEntropy.Fixed(w, 1.0 / 256).CodedBits, 4), (double)Layer(metrics[^1], "1")["weights_fixed_coded_bits"]);
        // Training moves them: the update figures of the first and last epochs differ (updates shrink as the loss falls).
        var last = Layer(metrics[^1], "1");
        Assert.NotEqual((double)first["update_fixed_bits"], (double)last["update_fixed_bits"]);
        Assert.NotEqual((double)first["weights_fixed_bits"], (double)last["weights_fixed_bits"]);
        // The fixed update step only grows (to the largest update's), and only while the updates do.
        Assert.True((double)first["update_step"] <= (double)last["update_step"]);
        var all = (Dictionary<string, object>)((Dictionary<string, object>)metrics[^1].Extra!["entropy_report"])["all"];
        double mean = ((double)last["update_rms_bits"] * 784 * 32 + (double)Layer(metrics[^1], "3")["update_rms_bits"] * 32 * 10) / (784 * 32 + 320);
        Assert.Equal(mean, (double)all["update_rms_bits"], 3);
    }

    [Fact]
    public void It_only_reads_the_weights()
    {
        var o = new TrainOptions { Model = "mlp", ModelOptions = new() { Hidden = [16] }, Epochs = 1, BatchSize = 32, LearningRate = 0.05, Seed = 3 };
        var plain = RunBuilder.Build(o, Train, Test);
        plain.Run(1);
        var reported = RunBuilder.Build(o with { EntropyReport = new() }, Train, Test);
        reported.Run(1);
        var after = reported.Model.StateDict().ToDictionary(e => e.Key, e => e.Value);
        foreach (var (k, v) in plain.Model.StateDict()) Assert.Equal(v.ToArray(), after[k].ToArray());
    }

    [Fact]
    public void Layers_can_be_chosen()
    {
        var cnn = ModelZoo.Build("cnn", new ModelOptions(Width: 4));
        var report = new EntropyReport(new() { Layers = "0,17" });
        report.Attach(cnn);
        Assert.Equal(["0", "17"], report.LayerNames);
        var figures = new Dictionary<string, object>();
        report.CollectEpochFigures(figures);
        var layer = (Dictionary<string, object>)((Dictionary<string, object>)figures["entropy_report"])["0"];
        Assert.True(layer.ContainsKey("weights_rms_bits"));
        Assert.False(layer.ContainsKey("update_rms_bits"), "no step was taken, so no update was measured");
    }

    [Fact]
    public void Options_are_validated_by_key()
    {
        string Key(EntropyReportOptions e) => Assert.Throws<OptionException>(() => new TrainOptions { EntropyReport = e }.Validate()).Key;
        Assert.Equal("entropy_report.bits", Key(new() { Bits = 0 }));
        Assert.Equal("entropy_report.weight_step", Key(new() { WeightStep = double.NaN }));
        Assert.Equal("entropy_report.update_step", Key(new() { UpdateStep = -1 }));
        Assert.Equal("entropy_report.update_samples", Key(new() { UpdateSamples = 0 }));
        Assert.Equal("entropy_report.layers", Key(new() { Layers = "" }));
        var json = TrainOptions.FromJson("""{"entropy_report": {"bits": 3, "update_step": 0.001, "layers": "0"}}""", "test.json");
        Assert.Equal(new EntropyReportOptions { Bits = 3, UpdateStep = 0.001, Layers = "0" }, json.EntropyReport);
        Assert.Equal("layers", Assert.Throws<OptionException>(() => new EntropyReport(new() { Layers = "5" }).Attach(ModelZoo.Build("mlp", new ModelOptions(Hidden: [4])))).Key);
    }
}
