using Frugal.Methods.LocalLearning;
using Frugal.Models;
using Frugal.Runs;
using Frugal.Tests.Cli;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.LocalLearning;

/// <summary>Layer-wise training from a run config, as `frugal train --layerwise` builds it.</summary>
public class LayerwiseRunTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-layerwise-run-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void A_run_config_trains_layerwise_and_writes_a_model_eval_loads()
    {
        var o = new TrainOptions
        {
            Model = "mlp", ModelOptions = new ModelOptions(Hidden: [32, 16]), Epochs = 6, BatchSize = 32, Seed = 3, Out = _dir,
            Layerwise = new LayerwiseOptions { AuxDepth = 1 },
        };
        var lw = RunBuilder.BuildLayerwise(o, SyntheticImages.Make(256, 4, 1), SyntheticImages.Make(100, 4, 2));
        Assert.Equal([2, 2, 2], lw.Plan(o.Epochs).Select(p => p.Epochs));
        var history = lw.Run(o.Epochs);
        Assert.True(history[^1].TestAccuracy > 0.9, $"accuracy {history[^1].TestAccuracy}");
        Assert.True(File.Exists(Path.Combine(_dir, "config.json")));
        var loaded = Checkpointing.Load(Path.Combine(_dir, "model.safetensors"), "mlp", o.ModelOptions);
        Assert.Equal(lw.Model.StateDict().Select(p => p.Value.ToArray()), loaded.StateDict().Select(p => p.Value.ToArray()));
    }

    [Fact]
    public void Layerwise_flags_need_the_switch()
    {
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(1), "train", "--aux-depth", "2", "--no-install");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("frugal: --aux-depth needs --layerwise (or a layerwise section in --config); the heads of --partitions take --partition-aux-depth", r.Stderr.Trim());
        r = FrugalProcess.Run(TimeSpan.FromMinutes(1), "train", "--layerwise", "--window-epochs", "-1", "--no-install");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("frugal: --window-epochs: must be ≥ 0", r.Stderr.Trim());
    }
}
