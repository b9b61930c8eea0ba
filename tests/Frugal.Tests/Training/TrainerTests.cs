using Frugal.Checkpoints;
using Frugal.Models;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Training;

namespace Frugal.Tests.Training;

public class TrainerTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-trainer-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static readonly Frugal.Data.ImageDataset Train = SyntheticImages.Make(512, 4, 1);
    static readonly Frugal.Data.ImageDataset Test = SyntheticImages.Make(200, 4, 2);

    static TrainOptions Small(string? outDir, int epochs = 3) => new()
    {
        Model = "mlp", ModelOptions = new ModelOptions(Hidden: [32]), Epochs = epochs, BatchSize = 32,
        LearningRate = 0.05, Seed = 3, Out = outDir,
    };

    [Fact]
    public void Run_learns_and_writes_the_run_folder()
    {
        var history = Recipe.Fit(Small(_dir), Train, Test);
        Assert.Equal(3, history.Count);
        Assert.True(history[^1].TestAccuracy > 0.95, $"accuracy {history[^1].TestAccuracy}");
        Assert.True(history[^1].TrainLoss < history[0].TrainLoss);
        foreach (var f in new[] { "config.json", "metrics.jsonl", "model.safetensors", "checkpoint.safetensors" })
            Assert.True(File.Exists(Path.Combine(_dir, f)), f);
        Assert.Single(Directory.GetFiles(_dir, "events.out.tfevents.*"));
        var lines = File.ReadAllLines(Path.Combine(_dir, "metrics.jsonl"));
        Assert.Equal(3, lines.Length);
        foreach (var key in new[] { "\"epoch\"", "\"train_loss\"", "\"test_loss\"", "\"test_accuracy\"", "\"samples_per_second\"", "\"seconds\"" })
            Assert.Contains(key, lines[0]);
        var model = SafeTensors.Load(Path.Combine(_dir, "model.safetensors"));
        Assert.Equal(["1.weight", "1.bias", "3.weight", "3.bias"], model.Tensors.Keys.ToArray());
    }

    /// <summary>--bn-recalibrate N: before each evaluation the batch norms' statistics are re-estimated from the epoch's
    /// first N training batches. Training itself is untouched (same loss), the saved statistics equal
    /// <see cref="Frugal.Nn.BatchNormStatistics.Update"/> applied afterwards to the run without it, and a killed run
    /// resumes to the same metrics.</summary>
    [Fact]
    public void Batch_norm_recalibration_replaces_the_running_statistics_before_evaluation_and_resumes_exactly()
    {
        TrainOptions Cnn(string dir, int recalibrate, int epochs = 2) => new()
        {
            Model = "cnn", ModelOptions = new ModelOptions(Width: 4), Epochs = epochs, BatchSize = 32, LearningRate = 0.05, Seed = 3,
            Out = dir, BnRecalibrate = recalibrate,
        };
        var plainDir = Path.Combine(_dir, "plain");
        var trainer = RunBuilder.Build(Cnn(plainDir, 0), Train, Test);
        var plain = trainer.Run(2);
        var recalDir = Path.Combine(_dir, "recal");
        var recal = Recipe.Fit(Cnn(recalDir, 3), Train, Test);
        Assert.Equal(plain[0].TrainLoss, recal[0].TrainLoss);
        Frugal.Nn.BatchNormStatistics.Update(trainer.Model, trainer.TrainLoader.Epoch(2).Take(3).Select(b => b.Inputs));
        var expected = trainer.Model.StateDict().Where(p => p.Key.Contains("running")).ToList();
        var saved = SafeTensors.Load(Path.Combine(recalDir, "model.safetensors"));
        Assert.NotEmpty(expected);
        foreach (var (key, t) in expected) Assert.Equal(t.ToArray(), saved[key].ToArray());
        Assert.NotEqual(SafeTensors.Load(Path.Combine(plainDir, "model.safetensors"))["1.running_mean"].ToArray(), saved["1.running_mean"].ToArray());

        var killed = Path.Combine(_dir, "killed");
        Recipe.Fit(Cnn(killed, 3, epochs: 1), Train, Test);
        var resumed = Recipe.Fit(Cnn(killed, 3), Train, Test, resume: true);
        for (int i = 0; i < 2; i++)
            Assert.Equal((recal[i].TrainLoss, recal[i].TestLoss, recal[i].TestAccuracy), (resumed[i].TrainLoss, resumed[i].TestLoss, resumed[i].TestAccuracy));
    }

    [Fact]
    public void Resume_after_a_kill_reproduces_the_uninterrupted_metrics()
    {
        var full = Recipe.Fit(Small(Path.Combine(_dir, "full")), Train, Test);
        var killedDir = Path.Combine(_dir, "killed");
        Recipe.Fit(Small(killedDir, epochs: 1), Train, Test);      // "killed" after epoch 1
        var resumed = Recipe.Fit(Small(killedDir), Train, Test, resume: true);
        Assert.Equal(3, resumed.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(full[i].TrainLoss, resumed[i].TrainLoss);
            Assert.Equal(full[i].TestLoss, resumed[i].TestLoss);
            Assert.Equal(full[i].TestAccuracy, resumed[i].TestAccuracy);
        }
        Assert.Equal(3, File.ReadAllLines(Path.Combine(killedDir, "metrics.jsonl")).Length);
    }

    sealed class Poison(Trainer t) : ITrainingCallback
    {
        public void OnEpochEnd(EpochMetrics m)
        {
            if (m.Epoch == 1) t.Model.Parameters().First().CopyFrom(Frugal.Tensors.Tensor.Full(t.Model.Parameters().First().Shape, float.NaN));
        }
    }

    [Fact]
    public void Nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_checkpoint()
    {
        var t = RunBuilder.Build(Small(_dir), Train, Test);
        t.Callbacks.Add(new Poison(t));
        var ex = Assert.Throws<TrainingDivergedException>(() => t.Run(3));
        Assert.Contains("epoch 2", ex.Message);
        Assert.Contains("NaN", ex.Message);
        var ckpt = SafeTensors.Load(Path.Combine(_dir, "checkpoint.safetensors"));
        Assert.Equal("1", ckpt.Metadata["epoch"]);
        Assert.All(ckpt.Tensors.Values, v => Assert.All(v.ToArray(), x => Assert.True(float.IsFinite(x))));
        Assert.Single(File.ReadAllLines(Path.Combine(_dir, "metrics.jsonl")));
    }

    [Fact]
    public void Bad_options_name_the_key()
    {
        Assert.Equal("model", Assert.Throws<OptionException>(() => (Small(null) with { Model = "vgg" }).Validate()).Key);
        Assert.Equal("epochs", Assert.Throws<OptionException>(() => (Small(null) with { Epochs = 0 }).Validate()).Key);
        Assert.Equal("learning_rate", Assert.Throws<OptionException>(() => (Small(null) with { LearningRate = double.NaN }).Validate()).Key);
        Assert.Equal("batch_size", Assert.Throws<OptionException>(() => RunBuilder.Build(Small(null) with { BatchSize = 10_000 }, Train, Test)).Key);
        Assert.Equal("approx.keep", Assert.Throws<OptionException>(() => (Small(null) with { Approx = new() { Keep = 0 } }).Validate()).Key);
        Assert.Equal("grad_format.format", Assert.Throws<OptionException>(() => (Small(null) with { GradFormat = new() { Format = "fp99" } }).Validate()).Key);
    }

    [Fact]
    public void A_json_config_has_one_section_per_method_and_unknown_keys_are_errors_that_name_them()
    {
        var o = Small(null) with { GradPrune = new() { Sparsity = 0.7, Mode = Frugal.Methods.Compression.GradPruneMode.TopK } };
        var json = o.ToJson();
        Assert.Contains("\"grad_prune\": {", json);
        Assert.Contains("\"mode\": \"topk\"", json);
        Assert.Contains("\"optimizer\": \"sgd\"", json);
        Assert.Equal(o.GradPrune, TrainOptions.FromJson(json, "c.json").GradPrune);
        Assert.Equal(o with { ModelOptions = o.ModelOptions }, TrainOptions.FromJson(json, "c.json") with { ModelOptions = o.ModelOptions });
        foreach (var (text, expect) in new[]
        {
            ("{\"lerning_rate\": 0.1}", "lerning_rate"),                       // misspelt key
            ("{\"Epochs\": 3}", "Epochs"),                                     // wrong case
            ("{\"grad_prune\": {\"sparsty\": 0.5}}", "sparsty"),             // unknown key inside a section
            ("{\"grad_prune\": {\"mode\": \"random\"}}", "grad_prune.mode"),   // not a choice
            ("{\"epochs\": \"ten\"}", "epochs"),                             // wrong type
            ("{\"approx\": {\"keep\": 1.5}}", "approx.keep"),                // out of the method's domain
        })
        {
            var e = Assert.Throws<InvalidDataException>(() => TrainOptions.FromJson(text, "run.json"));
            Assert.StartsWith("run.json: ", e.Message);
            Assert.Contains(expect, e.Message);
        }
    }

    [Fact]
    public void Eval_takes_the_model_from_config_json_even_one_of_an_earlier_version()
    {
        var h = Recipe.Fit(Small(_dir, epochs: 1), Train, Test);
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), Train, Test);
        var checkpoint = Path.Combine(_dir, "model.safetensors");
        Assert.Equal(h[0].TestAccuracy, Checkpointing.Evaluate(checkpoint, null, data, "cpu").Accuracy);
        // The flat method keys and the extra model_options key that earlier versions wrote.
        File.WriteAllText(Path.Combine(_dir, "config.json"),
            "{\"model\":\"mlp\",\"model_options\":{\"hidden\":[32],\"classes\":10,\"hidden_or_default\":[32]},\"grad_prune\":0.8,\"grad_prune_mode\":\"stochastic\"}");
        Assert.Equal(h[0].TestAccuracy, Checkpointing.Evaluate(checkpoint, null, data, "cpu").Accuracy);
        Assert.Equal("model", Assert.Throws<OptionException>(() => Checkpointing.Evaluate(checkpoint, "cnn", data, "cpu")).Key);
    }

    [Fact]
    public void Loader_is_deterministic_per_epoch_and_differs_between_epochs()
    {
        var l = new Frugal.Data.DataLoader(Train, 32, shuffle: true, seed: 5);
        Assert.Equal(l.Order(1), l.Order(1));
        Assert.NotEqual(l.Order(1), l.Order(2));
        var a = l.Epoch(1).Select(b => b.Labels).ToList();
        var b = l.Epoch(1, skip: 3).Select(b => b.Labels).ToList();
        Assert.Equal(a.Skip(3), b);
    }

    [Fact]
    public void Models_have_pytorch_state_dict_keys_and_sizes()
    {
        var cnn = ModelZoo.Build("cnn").StateDict();
        Assert.Equal("0.weight", cnn[0].Key);
        Assert.Equal(new Frugal.Tensors.Shape(32, 1, 3, 3), cnn[0].Value.Shape);
        Assert.Contains(cnn, p => p.Key == "1.num_batches_tracked");
        Assert.Contains(cnn, p => p.Key == "15.weight" && p.Value.Shape == new Frugal.Tensors.Shape(256, 3136));
        Assert.Equal(1_863_690, ModelZoo.Build("mlp").Parameters().Sum(p => p.Numel));   // 784·1024+1024 + 1024·1024+1024 + 1024·10+10
        Assert.Contains(ModelZoo.Build("resnet").StateDict(), p => p.Key == "4.0.downsample.1.running_var");
    }
}

public class LearningRateScheduleTests
{
    [Fact]
    public void Options_map_to_the_optim_schedules()
    {
        var o = new TrainOptions { LearningRate = 0.1, Epochs = 10 };
        Assert.Equal(0.1, LearningRateSchedule.Create(o, 100).LearningRate(999));
        var cos = LearningRateSchedule.Create(o with { Schedule = ScheduleKind.Cosine }, 100);
        Assert.Equal(0.05, cos.LearningRate(500), 12);
        var step = LearningRateSchedule.Create(o with { Schedule = ScheduleKind.Step, StepEpochs = 3, StepGamma = 0.5 }, 100);
        Assert.Equal(0.1, step.LearningRate(299), 12);
        Assert.Equal(0.05, step.LearningRate(300), 12);
        var warm = LearningRateSchedule.Create(o with { WarmupEpochs = 1 }, 100);
        Assert.Equal(0.1 / 3, warm.LearningRate(0), 12);
        Assert.Equal(0.1, warm.LearningRate(100), 12);
    }
}
