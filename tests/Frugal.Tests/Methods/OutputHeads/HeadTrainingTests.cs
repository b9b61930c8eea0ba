using Frugal.Methods.OutputHeads;
using Frugal.Models;
using Frugal.Runs;
using Frugal.Tests.Cli;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.OutputHeads;

public class HeadTrainingTests : IDisposable
{
    static readonly Frugal.Data.ImageDataset Train = SyntheticImages.Make(512, 4, 21), Test = SyntheticImages.Make(128, 4, 22);
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-heads-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    static TrainOptions Small(HeadKind? kind, double lr = 0.05, int epochs = 2) => new()
    {
        Model = "mlp", ModelOptions = new ModelOptions(Hidden: [32]), Epochs = epochs, BatchSize = 32, LearningRate = lr, Seed = 4,
        Head = kind == null ? null : new HeadOptions { Kind = kind.Value },
    };

    [Theory]
    [InlineData(HeadKind.Softmax)]
    [InlineData(HeadKind.LinearMse)]
    [InlineData(HeadKind.Exp)]
    [InlineData(HeadKind.ExpBoost)]
    [InlineData(HeadKind.Cube)]
    public void Each_head_learns_a_separable_problem_and_lowers_its_loss(HeadKind kind)
    {
        var h = RunBuilder.Build(Small(kind, lr: 0.01, epochs: 3), Train, Test).Run(3);
        Assert.True(h[2].TrainLoss < h[0].TrainLoss / 2, $"{kind}: train loss {h[0].TrainLoss} then {h[2].TrainLoss}");
        Assert.True(h[2].TestAccuracy > 0.9, $"{kind}: test accuracy {h[2].TestAccuracy}");
    }

    /// <summary>Would fail if the figure were not measured or ignored the head: it is positive, the same run reports
    /// the same value, and the cube head (error e³, small near t) sends a different signal from softmax.</summary>
    [Fact]
    public void Gradient_norms_appear_in_the_metrics_and_depend_on_the_head()
    {
        double Norm(TrainOptions o) => (double)RunBuilder.Build(o, Train, Test).Run(1)[0].Extra!["first_layer_grad_norm"];
        double softmax = Norm(Small(HeadKind.Softmax)), cube = Norm(Small(HeadKind.Cube));
        Assert.True(softmax > 0 && cube > 0, $"softmax {softmax}, cube {cube}");
        Assert.NotEqual(softmax, cube, 3);
        Assert.Equal(softmax, Norm(Small(null) with { LogGradNorm = true }));
        Assert.Null(RunBuilder.Build(Small(null), Train, Test).Run(1)[0].Extra);
        var extra = RunBuilder.Build(Small(HeadKind.Exp), Train, Test).Run(1)[0].Extra!;
        Assert.Equal((double)extra["first_layer_grad_norm"] / (double)extra["last_layer_grad_norm"], (double)extra["grad_norm_ratio"], 9);
    }

    /// <summary>The figure is of the gradient the optimizer used: under global-norm clipping to 1e-3 no weight's
    /// gradient norm can exceed 1e-3, while the raw one is far larger.</summary>
    [Fact]
    public void Gradient_norm_is_measured_after_clipping()
    {
        double Norm(TrainOptions o) => (double)RunBuilder.Build(o, Train, Test).Run(1)[0].Extra!["first_layer_grad_norm"];
        Assert.True(Norm(Small(HeadKind.Softmax)) > 1e-2);
        Assert.InRange(Norm(Small(HeadKind.Softmax) with { ClipGradNorm = 1e-3 }), 1e-6, 1.001e-3);
    }

    [Fact]
    public void Gradient_signal_reads_the_first_and_last_weights()
    {
        var model = ModelZoo.Build("mlp", new ModelOptions(Hidden: [8, 8]));
        var signal = new GradientSignal();
        signal.Attach(model);
        var names = model.NamedParameters().Where(p => p.Parameter.Rank >= 2).Select(p => p.Name).ToList();
        Assert.Equal((names[0], names[^1]), signal.Layers);
        Assert.Throws<InvalidOperationException>(() => signal.Attach(model));
    }

    /// <summary>On the toy problem a tiny rate barely moves, a huge one diverges, a middling one wins.</summary>
    [Fact]
    public void Lr_search_picks_a_sensible_rate_and_ranks_diverged_runs_last()
    {
        var r = LearningRateSearch.Run(Small(HeadKind.Cube, epochs: 1), [1e-4, 0.05, 1e4], Train, Test);
        Assert.Equal([1e-4, 0.05, 1e4], r.Trials.Select(t => t.LearningRate));
        Assert.True(r.Trials[2].Diverged, $"lr 1e4 gave train loss {r.Trials[2].TrainLoss}");
        Assert.Equal(0.05, r.Best!.LearningRate);
        var byAccuracy = LearningRateSearch.Run(Small(null, epochs: 1), [1e-4, 0.05], Train, Test, LearningRateCriterion.TestAccuracy);
        Assert.Equal(0.05, byAccuracy.Best!.LearningRate);
        var grid = LearningRateSearch.LogGrid(1e-3, 1e-1, 3);
        Assert.Equal(1e-2, grid[1], 12);
        Assert.Equal([1e-3, 1e-1], new[] { grid[0], grid[2] });
        Assert.Throws<ArgumentException>(() => LearningRateSearch.LogGrid(0, 1, 3));
        Assert.Throws<ArgumentException>(() => LearningRateSearch.LogGrid(1e-3, 1, 1));
        Assert.Throws<ArgumentException>(() => LearningRateSearch.Run([], _ => null!, 1));
    }

    [Fact]
    public void Cli_lr_search_writes_its_table_and_rejects_bad_flags()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), Train, Test);
        string[] tiny = ["--model", "mlp", "--hidden", "16", "--epochs", "1", "--batch-size", "32", "--data-dir", data];
        var ok = FrugalProcess.Run(TimeSpan.FromSeconds(120), ["lr-search", .. tiny, "--head", "exp-boost", "--lrs", "0.0001,0.05", "--out", Path.Combine(_dir, "s")]);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.EndsWith("best_lr 0.05", ok.Stdout.Trim());
        Assert.StartsWith("lr,train_loss,test_accuracy,diverged", File.ReadAllText(Path.Combine(_dir, "s", "lr-search.csv")));
        Assert.Contains("\"best_lr\": 0.05", File.ReadAllText(Path.Combine(_dir, "s", "lr-search.json")));
        foreach (var (args, expect) in new (string[], string)[]
        {
            (["lr-search", .. tiny, "--lr", "0.1"], "--lr is what is searched"),
            (["lr-search", .. tiny, "--lrs", "0.1", "--points", "3"], "not both"),
            (["lr-search", .. tiny, "--lrs", "0.1,abc"], "--lrs: 'abc'"),
            (["lr-search", .. tiny, "--lr-min", "1", "--lr-max", "0.1"], "--lr-max"),
            (["lr-search", .. tiny, "--criterion", "speed"], "--criterion: 'speed'"),
            (["train", .. tiny, "--head-alpha", "2"], "--head-alpha needs --head"),
            (["train", .. tiny, "--head", "tanh"], "--head: 'tanh' is not one of softmax, linear-mse, exp, exp-boost, cube"),
            (["train", .. tiny, "--head", "cube", "--label-smoothing", "0.1"], "--label-smoothing: applies to the softmax head only"),
        })
        {
            var r = FrugalProcess.Run(TimeSpan.FromSeconds(60), args);
            Assert.False(r.TimedOut, string.Join(" ", args));
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains(expect, r.Stderr);
            Assert.DoesNotContain('\n', r.Stderr.Trim());
        }
    }

    [Fact]
    public void Cli_train_writes_the_head_section_into_config_json()
    {
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), Train, Test);
        var run = Path.Combine(_dir, "run");
        var r = FrugalProcess.Run(TimeSpan.FromSeconds(60), "train", "--model", "mlp", "--hidden", "16", "--epochs", "1", "--batch-size", "32",
            "--data-dir", data, "--head", "exp-boost", "--head-alpha", "2", "--head-clip", "1.5", "--out", run);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var o = TrainOptions.FromJson(File.ReadAllText(Path.Combine(run, "config.json")), "config.json");
        Assert.Equal(new HeadOptions { Kind = HeadKind.ExpBoost, Alpha = 2, Clip = 1.5 }, o.Head);
        Assert.Contains("first_layer_grad_norm", File.ReadAllText(Path.Combine(run, "metrics.jsonl")));
    }
}
