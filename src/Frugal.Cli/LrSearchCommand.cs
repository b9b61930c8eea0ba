using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Frugal.Data;
using Frugal.Options;
using Frugal.Runs;

namespace Frugal.Cli;

/// <summary>
/// `frugal lr-search`: <see cref="LearningRateSearch"/> over a log-spaced grid (or a given list) for the run the train
/// flags describe, their epochs and train_limit being each trial's budget (../shared/METHODS.md §4.2: each output head
/// needs its own learning rate). A table on stdout and the chosen rate on the last line ("best_lr X");
/// lr-search.json and lr-search.csv in --out.
/// </summary>
static class LrSearchCommand
{
    public static Command Create()
    {
        var command = new Command("lr-search", "Train each learning rate of a grid for a short budget (--epochs, --train-limit) and choose the best; --out: folder for lr-search.json and lr-search.csv");
        var config = new Option<FileInfo?>("--config") { Description = "JSON run config (TrainOptions fields); flags given on the command line override it" };
        var lrs = new Option<string?>("--lrs") { Description = "Learning rates to try, comma-separated (instead of --lr-min/--lr-max/--points)" };
        var min = new Option<double>("--lr-min") { Description = "Smallest learning rate of the log-spaced grid", DefaultValueFactory = _ => 1e-3 };
        var max = new Option<double>("--lr-max") { Description = "Largest learning rate of the log-spaced grid", DefaultValueFactory = _ => 1.0 };
        var points = new Option<int>("--points") { Description = "Learning rates in the log-spaced grid", DefaultValueFactory = _ => 7 };
        var criterion = new Option<string>("--criterion")
        {
            Description = $"Rank trials by: {string.Join(", ", EnumNames<LearningRateCriterion>.All)} (train_loss: the last epoch's mean training loss, no held-out data)",
            DefaultValueFactory = _ => EnumNames<LearningRateCriterion>.Name(LearningRateCriterion.TrainLoss),
        };
        foreach (var o in new Option[] { config, lrs, min, max, points, criterion, DataInstaller.NoInstall }) command.Options.Add(o);
        TrainFlags.AddTo(command);
        command.SetAction(p => Cli.Run(() =>
        {
            if (TrainFlags.Given(p, "learning_rate")) throw new ArgumentException("lr-search: --lr is what is searched; give --lrs or --lr-min/--lr-max/--points");
            bool grid = p.GetResult(min) is { Implicit: false } || p.GetResult(max) is { Implicit: false } || p.GetResult(points) is { Implicit: false };
            if (grid && p.GetValue(lrs) != null) throw new ArgumentException("lr-search: give either --lrs or --lr-min/--lr-max/--points, not both");
            var rates = p.GetValue(lrs) is { } list ? Rates(list) : Grid(p.GetValue(min), p.GetValue(max), p.GetValue(points));
            var rank = EnumNames<LearningRateCriterion>.All.Contains(p.GetValue(criterion)!) ? EnumNames<LearningRateCriterion>.Parse(p.GetValue(criterion)!, "criterion")
                : throw new ArgumentException($"--criterion: '{p.GetValue(criterion)}' is not one of {string.Join(", ", EnumNames<LearningRateCriterion>.All)}");
            var start = p.GetValue(config) is { } cfg ? TrainOptions.FromJson(IO.RegularFile.ReadAllText(cfg.FullName, "--config"), cfg.FullName) : new TrainOptions();
            var options = TrainFlags.Read(p, start).Validate();
            if (options.DataParallel != null || options.DropCompute != null || options.Exchange != null)
                throw new ArgumentException("lr-search: runs in one process; leave out the data-parallel, drop-compute and exchange settings");
            DataInstaller.EnsureFashionMnist(options.DataDir, p);
            var (train, test) = FashionMnist.Load(options.DataDir, options.ModelOptions.Classes);
            Console.WriteLine($"lr-search: {options.Model}, {options.Optimizer}, head {(options.Head == null ? "softmax" : EnumNames<Methods.OutputHeads.HeadKind>.Name(options.Head.Kind))}, " +
                              $"{options.Epochs} epoch(s) per rate, ranked by {EnumNames<LearningRateCriterion>.Name(rank)}");
            Console.WriteLine("| lr | train loss | test accuracy | |");
            Console.WriteLine("|---:|---:|---:|---|");
            var result = LearningRateSearch.Run(options, rates, train, test, rank,
                t => Console.WriteLine(t.Diverged ? $"| {t.LearningRate:G4} | – | – | diverged |"
                    : $"| {t.LearningRate:G4} | {t.TrainLoss:F4} | {100 * t.TestAccuracy:F2}% | |"));
            if (options.Out != null) Write(options.Out, result);
            if (result.Best is not { } best) throw new Training.TrainingDivergedException("lr-search: every learning rate diverged; try a lower --lr-min");
            Console.WriteLine($"best_lr {best.LearningRate.ToString("R", CultureInfo.InvariantCulture)}");
        }));
        return command;
    }

    static double[] Rates(string list)
    {
        var rates = new List<double>();
        foreach (var s in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v > 0) || !double.IsFinite(v))
                throw new ArgumentException($"--lrs: '{s}' is not a positive number");
            rates.Add(v);
        }
        if (rates.Count == 0) throw new ArgumentException("--lrs: names no learning rate");
        return rates.ToArray();
    }

    static double[] Grid(double min, double max, int points)
    {
        if (!(min > 0) || !double.IsFinite(min)) throw new ArgumentException($"--lr-min: must be positive, got {min}");
        if (!(max >= min) || !double.IsFinite(max)) throw new ArgumentException($"--lr-max: must be at least --lr-min ({min}), got {max}");
        if (points < 1 || (points == 1 && min != max)) throw new ArgumentException($"--points: must be at least 2 (1 only when --lr-min = --lr-max), got {points}");
        return LearningRateSearch.LogGrid(min, max, points);
    }

    static void Write(string folder, LearningRateSearchResult result)
    {
        Directory.CreateDirectory(folder);
        static double? Finite(double v) => double.IsFinite(v) ? v : null;
        var json = new
        {
            criterion = EnumNames<LearningRateCriterion>.Name(result.Criterion),
            best_lr = result.Best?.LearningRate,
            trials = result.Trials.Select(t => new { lr = t.LearningRate, train_loss = Finite(t.TrainLoss), test_accuracy = Finite(t.TestAccuracy), diverged = t.Diverged }),
        };
        IO.AtomicFile.WriteAllText(Path.Combine(folder, "lr-search.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }) + "\n");
        var csv = new StringBuilder("lr,train_loss,test_accuracy,diverged\n");
        foreach (var t in result.Trials)
            csv.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{t.LearningRate:R},{t.TrainLoss:R},{t.TestAccuracy:R},{(t.Diverged ? 1 : 0)}"));
        IO.AtomicFile.WriteAllText(Path.Combine(folder, "lr-search.csv"), csv.ToString());
    }
}
