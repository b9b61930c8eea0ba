using Frugal.Data;
using Frugal.Methods.ClosedForm;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Options;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Training;
using Xunit;
using Xunit.Abstractions;

namespace Frugal.Tests.ClosedForm;

/// <summary>The closed-form fit on the toy problems and on tiny synthetic images: accuracy, the effect of the hidden
/// refits, the model it returns, and its options' validation.</summary>
public class ClosedFormMlpTests(ITestOutputHelper output)
{
    static Batch All(IDataset data) => data.GetBatch(Enumerable.Range(0, data.Count).ToArray(), Device.Cpu, new Generator(0));

    static double Accuracy(Module model, IDataset data) => Evaluation.Run(model, new DataLoader(data, 500, shuffle: false)).Accuracy;

    [Fact]
    public void Xor_and_spirals_are_fitted_almost_perfectly()
    {
        var options = new ClosedFormOptions { HiddenWidth = 64, Rounds = 1 };
        var xor = All(ToyData.Xor(400, seed: 1));
        var xorFit = ClosedFormMlp.Fit(xor.Inputs, xor.Labels!, options);
        double xorTest = Accuracy(xorFit.Model, ToyData.Xor(400, seed: 2));
        var spirals = All(ToyData.Spirals(600, seed: 1));
        var spiralFit = ClosedFormMlp.Fit(spirals.Inputs, spirals.Labels!, options with { HiddenWidth = 256 });
        double spiralTest = Accuracy(spiralFit.Model, ToyData.Spirals(600, seed: 2));
        output.WriteLine($"xor test {xorTest:P2}, spirals test {spiralTest:P2}");
        Assert.True(xorTest > 0.9, $"xor test accuracy {xorTest:P2}");
        Assert.True(spiralTest > 0.95, $"spirals test accuracy {spiralTest:P2}");
        Assert.Equal(2, spiralFit.Rounds.Count);
        Assert.Equal(spiralFit.Rounds[^1].TrainAccuracy!.Value, Accuracy(spiralFit.Model, ToyData.Spirals(600, seed: 1)), 6);
    }

    [Theory]
    [InlineData(HiddenTargetRule.MinimalChange)]
    [InlineData(HiddenTargetRule.MinimumNorm)]
    public void Hidden_refits_change_the_hidden_layer_and_lower_the_training_residual(HiddenTargetRule rule)
    {
        var data = All(SyntheticImages.Make(300, 10, 1));
        var options = new ClosedFormOptions { HiddenWidth = 32, Lambda = 1e-2, HiddenTargets = rule };
        var random = ClosedFormMlp.Fit(data.Inputs, data.Labels!, options with { Rounds = 0 }, 10);
        var refitted = ClosedFormMlp.Fit(data.Inputs, data.Labels!, options with { Rounds = 2 }, 10);
        foreach (var r in refitted.Rounds) output.WriteLine($"{rule} round {r.Round}: train MSE {r.TrainMse:F5}, accuracy {r.TrainAccuracy:P2}");
        Assert.Equal(random.Rounds[0].TrainMse, refitted.Rounds[0].TrainMse, 6);
        var w0 = ((Linear)random.Model[1]).Weight.ToArray();
        var w2 = ((Linear)refitted.Model[1]).Weight.ToArray();
        double change = w0.Zip(w2, (a, b) => (double)(a - b) * (a - b)).Sum() / w0.Sum(v => (double)v * v);
        output.WriteLine($"relative change of W₁: {change:F4}");
        Assert.True(change > 1e-3, $"W₁ barely moved ({change})");
        Assert.True(refitted.Rounds[^1].TrainMse < 0.95 * refitted.Rounds[0].TrainMse,
            $"train MSE {refitted.Rounds[0].TrainMse:F5} → {refitted.Rounds[^1].TrainMse:F5}");
    }

    [Fact]
    public void Sine_regression_reaches_the_noise_floor()
    {
        var train = All(ToyData.Sine(400, noise: 0.05, seed: 1));
        var fit = ClosedFormMlp.Fit(train.Inputs, train.Targets!, new ClosedFormOptions { HiddenWidth = 32 });
        var (mse, _) = Evaluation.Run(fit.Model, new DataLoader(ToyData.Sine(400, noise: 0.05, seed: 2), 400, shuffle: false), LossFunctions.MeanSquaredError());
        output.WriteLine($"sine test MSE {mse:F5} (noise variance 0.0025)");
        Assert.True(mse < 0.005, $"test MSE {mse}");
        Assert.Null(fit.Rounds[0].TrainAccuracy);
    }

    [Fact]
    public void The_model_is_the_zoo_mlp_and_fine_tunes_with_the_trainer()
    {
        var images = SyntheticImages.Make(128, 10, 3);
        var data = All(images);
        var fit = ClosedFormMlp.Fit(data.Inputs, data.Labels!, new ClosedFormOptions { HiddenWidth = 16, Rounds = 1 }, 10);
        var zoo = ModelZoo.Build("mlp", new ModelOptions(Hidden: [16], Activation: ActivationKind.Tanh));
        zoo.LoadStateDict(fit.Model.StateDict().ToDictionary(p => p.Key, p => p.Value));
        Assert.Equal(fit.Model.Call(data.Inputs).ToArray(), zoo.Call(data.Inputs).ToArray());
        double before = Accuracy(fit.Model, images);
        var trainer = new Trainer(fit.Model, new Frugal.Optim.Sgd(fit.Model.Parameters(), 0.01, momentum: 0.9), new DataLoader(images, 32, shuffle: true));
        var metrics = trainer.Run(1);
        Assert.True(double.IsFinite(metrics[0].TrainLoss));
        output.WriteLine($"train accuracy {before:P2} after the fit, one SGD epoch's loss {metrics[0].TrainLoss:F4}");
    }

    [Theory]
    [InlineData(ActivationKind.Tanh)]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.LeakyRelu)]
    public void Inverse_activation_is_finite_at_and_beyond_the_range_and_inverts_inside_it(ActivationKind f)
    {
        float[] h = [-5, -1, -0.5f, 0, 0.25f, 0.5f, 1, 5];
        var z = (float[])h.Clone();
        InverseActivation.Apply(f, z, 1e-3);
        Assert.All(z, v => Assert.True(float.IsFinite(v)));
        var back = f.Create().Call(Tensor.FromArray(z, h.Length)).ToArray();
        (double lo, double hi) = f switch { ActivationKind.Tanh => (-1, 1), ActivationKind.Sigmoid => (0, 1), _ => (double.NegativeInfinity, double.PositiveInfinity) };
        for (int i = 0; i < h.Length; i++)
        {
            double expected = Math.Clamp(h[i], lo + 1e-3, hi - 1e-3);
            Assert.True(Math.Abs(back[i] - expected) < 1e-4, $"f(f⁻¹({h[i]})) = {back[i]}, expected {expected}");
        }
    }

    [Theory]
    [InlineData("hidden_width")]
    [InlineData("lambda")]
    [InlineData("rounds")]
    [InlineData("activation")]
    [InlineData("init_scale")]
    [InlineData("clip_margin")]
    public void Bad_options_are_refused_naming_the_key(string key)
    {
        var o = new ClosedFormOptions();
        var bad = key switch
        {
            "hidden_width" => o with { HiddenWidth = 0 },
            "lambda" => o with { Lambda = -1 },
            "rounds" => o with { Rounds = -1 },
            "activation" => o with { Activation = ActivationKind.Relu },
            "init_scale" => o with { InitScale = 0 },
            _ => o with { ClipMargin = 0 },
        };
        Assert.Equal(key, Assert.Throws<OptionException>(() => bad.Validate()).Key);
        var data = All(ToyData.Xor(8));
        Assert.Equal(key, Assert.Throws<OptionException>(() => ClosedFormMlp.Fit(data.Inputs, data.Labels!, bad)).Key);
    }

    [Fact]
    public void Toy_data_is_a_function_of_the_seed()
    {
        Assert.Equal(All(ToyData.Spirals(50, 3, 0.2, 4)).Inputs.ToArray(), All(ToyData.Spirals(50, 3, 0.2, 4)).Inputs.ToArray());
        Assert.NotEqual(All(ToyData.Spirals(50, 3, 0.2, 4)).Inputs.ToArray(), All(ToyData.Spirals(50, 3, 0.2, 5)).Inputs.ToArray());
        Assert.Equal(All(ToyData.Sine(20, seed: 1)).Targets!.ToArray(), All(ToyData.Sine(20, seed: 1)).Targets!.ToArray());
        Assert.Equal([0, 1, 2, 0], All(ToyData.Spirals(4)).Labels!);
    }
}
