using Frugal.Data;
using Frugal.Methods.Robustness;
using Frugal.Models;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tensors;
using Frugal.Tests.Training;
using Frugal.Training;

namespace Frugal.Tests.Methods.Robustness;

public class PtqAndQatTests
{
    static readonly ImageDataset Train = SyntheticImages.Make(384, 4, 1), Test = SyntheticImages.Make(128, 4, 2);
    static readonly TrainOptions Small = new() { Model = "cnn", ModelOptions = new ModelOptions(Width: 4), Epochs = 2, BatchSize = 32, LearningRate = 0.05, Seed = 3 };

    static int Distinct(float[] values) => values.Select(v => v).Distinct().Count();

    /// <summary>Each layer's weights take at most 2^b values (8 bits at the first and last layer), activations are
    /// calibrated unsigned after a ReLU and signed for the normalised image, and W8A8 keeps the float accuracy.</summary>
    [Fact]
    public void Ptq_quantises_every_layer_on_its_grid_with_edge_layers_at_8_bits()
    {
        var trainer = RunBuilder.Build(Small, Train, Test);
        trainer.Run(Small.Epochs);
        var state = trainer.Model.StateDict().ToDictionary(p => p.Key, p => p.Value);
        var loader = new DataLoader(Test, 64, shuffle: false);
        double fp = Evaluation.Run(trainer.Model, loader).Accuracy;
        Assert.True(fp > 0.6, $"float accuracy {fp}");

        var model = ModelZoo.Build("cnn", new ModelOptions(Width: 4));
        model.LoadStateDict(state);
        var calib = new DataLoader(Train.Take(128), 64, shuffle: false).Epoch(1).Select(b => b.Inputs).ToList();
        var steps = PostTrainingQuantization.Apply(model, new PtqSettings { WeightBits = 2, ActivationBits = 3 }, calib);
        Assert.Equal([8, 2, 2, 2, 2, 8], steps.Select(s => s.WeightBits!.Value));
        Assert.Equal([8, 3, 3, 3, 3, 8], steps.Select(s => s.InputBits!.Value));
        Assert.True(steps[0].InputSigned);
        Assert.All(steps.Skip(1), s => Assert.False(s.InputSigned));
        var layers = model.NamedModules().Select(m => m.Module).OfType<QuantizedLayer>().ToList();
        Assert.Equal(6, layers.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            var wq = layers[i].WeightQuantizer!.Apply(layers[i].Weight).ToArray();
            Assert.True(Distinct(wq) <= 1 << steps[i].WeightBits!.Value, $"layer {steps[i].Name}: {Distinct(wq)} weight values");
        }
        Assert.Equal(state.Keys.Order(), model.StateDict().Select(p => p.Key).Order());

        var w8 = ModelZoo.Build("cnn", new ModelOptions(Width: 4));
        w8.LoadStateDict(state);
        PostTrainingQuantization.Apply(w8, new PtqSettings { WeightBits = 8, ActivationBits = 8 }, calib);
        Assert.True(Math.Abs(Evaluation.Run(w8, loader).Accuracy - fp) <= 0.02);
        Assert.Equal("weight_bits", Assert.Throws<OptionException>(() => new PtqSettings { WeightBits = 1 }.Validate()).Key);
    }

    /// <summary>QAT trains through the quantisers: accuracy well above chance, every weight step moved from LSQ's
    /// initial value, the conv inputs quantised to 3 bits, and the saved model keeps the float model's keys.</summary>
    [Fact]
    public void Qat_with_learned_steps_trains_a_quantised_model()
    {
        var o = Small with { Qat = new QatOptions { Bits = 3 }, Kure = new KureOptions() };
        var trainer = RunBuilder.Build(o, Train, Test);
        var qat = trainer.Methods.OfType<QuantizationAwareTraining>().Single();
        Assert.Equal(6, qat.Layers.Count);
        trainer.Methods[0].OnStep(1, 0, 1);
        var initial = qat.Layers.Select(l => QuantizationAwareTraining.LsqInitialStep(l.Layer.Weight.ToArray(), l.Layer.WeightQuantizer!.Grid)).ToArray();
        var metrics = trainer.Run(o.Epochs);
        Assert.True(metrics[^1].TestAccuracy > 0.6, $"accuracy {metrics[^1].TestAccuracy}");
        for (int i = 0; i < qat.Layers.Count; i++)
        {
            var q = qat.Layers[i].Layer;
            Assert.NotEqual(initial[i], q.WeightQuantizer!.Step.Item());
            Assert.Equal(i is 0 or 5 ? 8 : 3, q.InputQuantizer!.Grid.Bits);
        }
        Assert.Contains("qat_steps", metrics[^1].Extra!);
        Assert.Contains("kure_penalty", metrics[^1].Extra!);
        Assert.Equal(ModelZoo.Build("cnn", new ModelOptions(Width: 4)).StateDict().Select(p => p.Key), trainer.Model.StateDict().Select(p => p.Key));
        Assert.Equal("qat.bits", Assert.Throws<OptionException>(() => (Small with { Qat = new QatOptions { Bits = 1 } }).Validate()).Key);
        Assert.Equal("qat", Assert.Throws<OptionException>(() => (Small with { Qat = new(), Approx = new() }).Validate()).Key);
    }
}
