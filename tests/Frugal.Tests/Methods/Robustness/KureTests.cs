using Frugal.Methods.Robustness;
using Frugal.Models;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tensors;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.Robustness;

public class KureTests
{
    [Fact]
    public void Default_layers_are_every_conv_and_linear_but_the_first_and_conv_only_is_the_reference_choice()
    {
        var cnn = ModelZoo.Build("cnn", new ModelOptions(Width: 4));
        Assert.Equal(["3", "7", "10", "15", "17"], WeightLayers.Select(cnn, null).Select(l => l.Name));
        Assert.Equal(["3", "7", "10"], WeightLayers.Select(cnn, null, convOnly: true).Select(l => l.Name));
        Assert.Equal(6, WeightLayers.Select(cnn, "all").Count);
        Assert.Equal(["0", "17"], WeightLayers.Select(cnn, "0, 17").Select(l => l.Name));
        Assert.Equal("layers", Assert.Throws<OptionException>(() => WeightLayers.Select(cnn, "4")).Key);
        Assert.Equal("layers", Assert.Throws<OptionException>(() => WeightLayers.Select(cnn, "3,3")).Key);
    }

    /// <summary>R divides by the real number of regularised tensors, and λ scales the penalty.</summary>
    [Fact]
    public void Regularizer_is_the_mean_over_the_chosen_layers_of_the_squared_kurtosis_gap()
    {
        var cnn = ModelZoo.Build("cnn", new ModelOptions(Width: 4), seed: 2);
        var kure = new KurtosisRegularization(new KureOptions { Lambda = 0.5, KurtosisTarget = 2.5 });
        kure.Attach(cnn);
        Assert.Equal(5, kure.Layers.Count);
        double expected = kure.Layers.Select(l => Math.Pow(Kurtosis.Of(l.Weight.ToArray()) - 2.5, 2)).Average();
        Assert.Equal(expected, kure.Regularizer().Item(), 3);
        Assert.Equal(0.5 * expected, kure.Penalty()!.Item(), 3);
        Assert.Contains("kure_layers", Collect(kure));
    }

    static Dictionary<string, object> Collect(KurtosisRegularization k)
    {
        var d = new Dictionary<string, object>();
        k.CollectEpochFigures(d);
        return d;
    }

    [Fact]
    public void Penalty_gradient_matches_finite_differences()
    {
        var cnn = ModelZoo.Build("mlp", new ModelOptions(Hidden: [3, 4]), seed: 3);
        var kure = new KurtosisRegularization(new KureOptions { KurtosisTarget = 1.8 });
        kure.Attach(cnn);
        var weights = kure.Layers.Select(l => l.Weight).ToArray();
        Assert.Equal(2, weights.Length);
        // The kurtosis of 12 and 40 values is strongly curved: a finer step than the default keeps the central
        // difference's truncation error below the tolerance (the op computes in double, so float32 noise stays small).
        var r = Frugal.Autograd.GradCheck.Check(_ => kure.Regularizer(), weights, eps: 1e-3);
        Assert.True(r.Ok, r.Report);
    }

    [Fact]
    public void Options_are_validated_by_key()
    {
        string Key(KureOptions k) => Assert.Throws<OptionException>(() => new TrainOptions { Kure = k }.Validate()).Key;
        Assert.Equal("kure.lambda", Key(new() { Lambda = 0 }));
        Assert.Equal("kure.lambda", Key(new() { Lambda = double.NaN }));
        Assert.Equal("kure.kurtosis_target", Key(new() { KurtosisTarget = 0.5 }));
        Assert.Equal("kure.layers", Key(new() { Layers = " " }));
        var json = TrainOptions.FromJson("""{"kure": {"lambda": 2, "kurtosis_target": 3, "conv_only": true, "std": "unbiased"}}""", "test.json");
        Assert.Equal(new KureOptions { Lambda = 2, KurtosisTarget = 3, ConvOnly = true, Std = KurtosisStd.Unbiased }, json.Kure);
    }

    /// <summary>Would fail if the penalty never reached the loss: after the same training, the regularised layers'
    /// kurtosis is near K_T with KURE and far from it without (near the initial one, or heavy-tailed in the classifier); the first layer is untouched by it. The zoo's
    /// Kaiming-uniform initialisation already has kurtosis 1.8, so the test pulls towards K_T = 4 to tell the two apart.</summary>
    [Fact]
    public void Training_with_the_penalty_pulls_each_layers_kurtosis_to_the_target()
    {
        var train = SyntheticImages.Make(256, 4, 1);
        var test = SyntheticImages.Make(64, 4, 2);
        var o = new TrainOptions { Model = "cnn", ModelOptions = new ModelOptions(Width: 4), Epochs = 2, BatchSize = 32, LearningRate = 0.05, Seed = 1 };
        static Dictionary<string, double> Kurt(Frugal.Training.Trainer t) =>
            WeightLayers.Select(t.Model, "all").ToDictionary(l => l.Name, l => Kurtosis.Of(l.Weight.ToArray()));
        var plain = RunBuilder.Build(o, train, test);
        plain.Run(o.Epochs);
        var kure = RunBuilder.Build(o with { Kure = new KureOptions { Lambda = 1, KurtosisTarget = 4 } }, train, test);
        var metrics = kure.Run(o.Epochs);
        var (kp, kk) = (Kurt(plain), Kurt(kure));
        foreach (var name in new[] { "3", "7", "10", "15", "17" })
        {
            Assert.True(Math.Abs(kk[name] - 4) < 1, $"layer {name}: kurtosis {kk[name]:F2} with KURE, expected ≈ 4");
            Assert.True(Math.Abs(kp[name] - 4) > Math.Abs(kk[name] - 4) + 0.5, $"layer {name}: plain kurtosis {kp[name]:F2}, KURE {kk[name]:F2}; target 4");
        }
        // The first layer is not regularised: it stays where the plain run's goes.
        Assert.True(Math.Abs(kk["0"] - kp["0"]) < 0.5 && kk["0"] < 3, $"first layer: plain {kp["0"]:F2}, KURE {kk["0"]:F2}");
        var extra = metrics[^1].Extra!;
        Assert.True((double)extra["kure_penalty"] < (double)metrics[0].Extra!["kure_penalty"]);
        Assert.Equal(5, ((Dictionary<string, object>)extra["kure_layers"]).Count);
    }
}
