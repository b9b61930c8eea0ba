using Frugal.Checkpoints;
using Frugal.Data;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Tests.Training;

/// <summary>
/// The Trainer from parts of a user's own: a Module subclass, a <see cref="TensorDataset"/> of regression targets (no
/// labels, no images), a mean-squared-error loss and a schedule. Everything the CLI's runs get — run folder, metrics,
/// TensorBoard events, checkpoints, exact resume, divergence stops — must work here too.
/// </summary>
[Collection(DefaultGeneratorCollection.Name)]
public class ComposableTrainerTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-composable-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    sealed class Regressor : Module
    {
        readonly Linear _hidden, _out;

        public Regressor(ulong seed)
        {
            var g = new Generator(seed);
            _hidden = Child("hidden", new Linear(3, 32, generator: g));
            _out = Child("out", new Linear(32, 1, generator: g));
        }

        protected override Tensor Forward(Tensor x) => _out.Call(_hidden.Call(x).Tanh());
    }

    /// <summary>y = sin(x₀) + ½·x₁·x₂ on points of [−1, 1]³.</summary>
    static TensorDataset Regression(int n, ulong seed)
    {
        var g = new Generator(seed);
        var x = new float[n * 3];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < 3; j++) x[3 * i + j] = (float)(2 * g.NextDouble() - 1);
            y[i] = MathF.Sin(x[3 * i]) + 0.5f * x[3 * i + 1] * x[3 * i + 2];
        }
        return new TensorDataset(x, [3], targets: y);
    }

    static readonly TensorDataset Train = Regression(512, 1), Test = Regression(256, 2);

    static Trainer Build(string dir, LossFunction? loss = null)
    {
        Generator.ManualSeed(4);
        var model = new Regressor(seed: 5);
        var train = new DataLoader(Train, 32, shuffle: true, seed: 6);
        return new Trainer(model, new Adam(model.Parameters(), 0.01), train, new DataLoader(Test, 128, shuffle: false),
            loss ?? LossFunctions.MeanSquaredError(), run: new RunFolder(dir))
        {
            Schedule = new CosineAnnealing(0.01, 6 * train.Count),
        };
    }

    [Fact]
    public void A_custom_model_on_regression_data_learns_writes_the_run_folder_and_resumes_exactly()
    {
        var full = Build(Path.Combine(_dir, "full")).Run(6);
        // Predicting the mean scores Var(y) ≈ 0.3; the fit ends over ten times better and keeps improving.
        Assert.True(full[^1].TestLoss < 0.03 && full[^1].TestLoss < 0.7 * full[0].TestLoss, $"test mse {full[0].TestLoss:F4} -> {full[^1].TestLoss:F4}");
        Assert.All(full, m => Assert.True(double.IsNaN(m.TestAccuracy)));          // no labels: no accuracy, not a fake one
        Assert.True(full[^1].LearningRate < 0.01 * 0.1, $"the schedule ran: lr {full[^1].LearningRate}");
        var lines = File.ReadAllLines(Path.Combine(_dir, "full", "metrics.jsonl"));
        Assert.Equal(6, lines.Length);
        Assert.Contains("\"test_accuracy\":\"NaN\"", lines[0]);
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "full"), "events.out.tfevents.*"));
        var saved = SafeTensors.Load(Path.Combine(_dir, "full", "model.safetensors"));
        Assert.Equal(["hidden.weight", "hidden.bias", "out.weight", "out.bias"], saved.Tensors.Keys.ToArray());

        var killed = Path.Combine(_dir, "killed");
        Build(killed).Run(2);
        var resumed = Build(killed).Run(6, resume: true);
        Assert.Equal(6, resumed.Count);
        for (int i = 0; i < 6; i++)
        {
            Assert.Equal(full[i].TrainLoss, resumed[i].TrainLoss);
            Assert.Equal(full[i].TestLoss, resumed[i].TestLoss);
        }
        Assert.Equal(6, File.ReadAllLines(Path.Combine(killed, "metrics.jsonl")).Length);
    }

    [Fact]
    public void A_user_loss_that_diverges_stops_the_run_and_keeps_the_last_good_checkpoint()
    {
        int calls = 0, perEpoch = Train.Count / 32;
        LossFunction exploding = (output, batch) =>
        {
            var mse = output.MseLoss(batch.Targets!);
            if (!Frugal.Autograd.GradMode.IsEnabled) return mse;                   // evaluation
            return ++calls > perEpoch + 3 ? mse * float.PositiveInfinity : mse;   // the 4th step of epoch 2
        };
        var t = Build(_dir, exploding);
        var e = Assert.Throws<TrainingDivergedException>(() => t.Run(3));
        Assert.Contains("epoch 2, batch 4", e.Message);
        Assert.Equal("1", SafeTensors.Load(Path.Combine(_dir, "checkpoint.safetensors")).Metadata["epoch"]);
        Assert.Single(File.ReadAllLines(Path.Combine(_dir, "metrics.jsonl")));
    }

    [Fact]
    public void A_loss_that_needs_labels_says_the_data_set_has_none()
    {
        var model = new Regressor(seed: 5);
        var t = new Trainer(model, new Sgd(model.Parameters(), 0.1), new DataLoader(Train, 32, shuffle: false));
        var e = Assert.Throws<InvalidOperationException>(() => t.Run(1));
        Assert.Contains("cross_entropy", e.Message);
        Assert.Contains("no class labels", e.Message);
    }
}
