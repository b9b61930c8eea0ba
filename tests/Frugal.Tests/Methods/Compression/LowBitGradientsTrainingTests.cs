using Frugal.Methods;
using Frugal.Models;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Runs;
using Frugal.Training;

namespace Frugal.Tests.Methods.Compression;

public class LowBitGradientsTrainingTests
{
    /// <summary>
    /// Watches the neural gradient of a hidden conv after the method's hook. A format with M mantissa bits puts
    /// every scaled value on one of 2^M points per binade, so frac(log2|g|) takes at most 2^M values; an FP32
    /// gradient takes thousands. Fails if the cast were silently skipped.
    /// </summary>
    [Fact]
    public void Fp6_gradients_sit_on_the_format_grid_after_the_measuring_step()
    {
        var options = new TrainOptions
        {
            Model = "cnn", ModelOptions = new ModelOptions(Width: 4), Epochs = 2, BatchSize = 32, TrainLimit = 128,
            LearningRate = 0.05, Seed = 5, GradFormat = new() { Format = "fp6", Rounding = Frugal.Ops.Rounding.Stochastic },
        };
        var trainer = RunBuilder.Build(options, SyntheticImages.Make(128, 4, 1), SyntheticImages.Make(64, 4, 2));
        var watched = ComputeLayers.All(trainer.Model)[1].Layer;
        var distinct = new List<int>();
        watched.RegisterForwardHook((m, y) =>
        {
            if (m.Training) y.RegisterHook(g => { distinct.Add(DistinctLog2Fractions(g)); return g; });
            return y;
        });
        var history = trainer.Run(options.Epochs);

        Assert.Equal(8, distinct.Count);                        // 4 steps per epoch, 2 epochs
        Assert.True(distinct[0] > 200, $"FP32 measuring step: {distinct[0]} distinct mantissas");
        Assert.True(distinct[4] > 200, $"FP32 measuring step of epoch 2: {distinct[4]}");
        var layers = (Dictionary<string, object>)history[0].Extra!["grad_format_layers"];
        var fig = (Dictionary<string, object>)layers[ComputeLayers.All(trainer.Model)[1].Name];
        int m = (int)fig["m"], e = (int)fig["e"];
        Assert.Equal(5, e + m);
        // Every layer's scale centres its measured log2 mean at −3 (the exponent itself, not only the error it leads to).
        foreach (var (name, f) in layers.Select(p => (p.Key, (Dictionary<string, object>)p.Value)))
            Assert.Equal(-3 - (double)f["mu2"], (double)f["scale_log2"], 1e-6);
        foreach (int step in new[] { 1, 2, 3, 5, 6, 7 })
            Assert.True(distinct[step] <= 1 << m, $"step {step}: {distinct[step]} distinct mantissas for e{e}m{m}");
        double err = (double)history[1].Extra!["grad_quant_rel_error"];
        Assert.True(err is > 0 and < 0.05, $"relative error {err}: {System.Text.Json.JsonSerializer.Serialize(history[1].Extra)}");
    }

    static int DistinctLog2Fractions(Tensor g)
    {
        var set = new HashSet<long>();
        foreach (var v in g.ToArray())
            if (v != 0)
            {
                double l = Math.Log2(Math.Abs(v));
                set.Add((long)Math.Round((l - Math.Floor(l)) * 1000) % 1000);
            }
        return set.Count;
    }
}

public class MethodCompositionTests
{
    /// <summary>DESIGN.md: methods compose. Column-row sampling swaps layers, then pruning and the low-bit cast hook the
    /// swapped layers' outputs; each method's own figure shows it acted.</summary>
    [Fact]
    public void Sampling_pruning_and_low_bit_gradients_act_together()
    {
        var options = new TrainOptions
        {
            Model = "cnn", ModelOptions = new ModelOptions(Width: 16), Epochs = 1, BatchSize = 32, TrainLimit = 128,
            LearningRate = 0.05, Seed = 5, Approx = new() { Sampler = Frugal.Methods.Approximate.SamplerKind.TopK, Keep = 0.5, MinK = 1 },
            GradPrune = new() { Sparsity = 0.8 }, GradFormat = new() { Format = "fp8" },
        };
        var m = Recipe.Fit(options, SyntheticImages.Make(128, 4, 1), SyntheticImages.Make(64, 4, 2))[0].Extra!;
        Assert.True(Convert.ToDouble(m["approx_flops_ratio"]) < 0.95, $"flops ratio {m["approx_flops_ratio"]}");
        Assert.True(Convert.ToDouble(m["grad_sparsity"]) > 0.5, $"grad sparsity {m["grad_sparsity"]}");
        var pruned = (IDictionary<string, object>)m["grad_layers"];
        var cast = (Dictionary<string, object>)m["grad_format_layers"];
        Assert.Equal(5, pruned.Count);            // 4 convs + fc1 (4 of them approximate); the classifier stays exact
        Assert.Equal(pruned.Keys.Order(), cast.Keys.Order());
    }
}
