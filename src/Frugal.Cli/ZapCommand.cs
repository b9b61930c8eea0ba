using System.CommandLine;
using System.Globalization;
using System.Text;
using Frugal.Data;
using Frugal.Methods.Zap;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>
/// `frugal zap`: ZAP zero-activation predictors on a trained CNN (<see cref="ZapNetwork"/>, ../shared/METHODS.md §6).
/// Per pattern: trains the predictors label-free, measures each layer's threshold curves on training data, evaluates
/// the operating points (uniform thresholds and/or per-layer thresholds under error budgets; plain, after BN
/// recalibration, after a backbone fine-tune) on the test set, and measures the wall-clock of skipping the predicted
/// zeros against the dense model. A markdown table on stdout; zap.csv and zap.png in --out.
/// </summary>
static class ZapCommand
{
    sealed record Point(string Pattern, string Mode, double Setting, string Recovery, double Accuracy, ZapMacReport Macs, double?[] Thresholds);

    public static Command Create()
    {
        var zap = new Command("zap", "ZAP zero-activation predictors on a trained CNN: MACs saved vs accuracy, and the wall-clock of skipping them");
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "model.safetensors of a trained CNN (frugal train --model cnn)", Required = true };
        var model = new Option<string?>("--model") { Description = "Model the checkpoint belongs to (default: from config.json beside it, else cnn)" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of MNIST-format IDX files (default: Debian's Fashion-MNIST)" };
        var pattern = new Option<string>("--pattern") { Description = $"Spatial patterns by computed percentage, comma-separated ({string.Join(", ", SpatialPattern.All.Select(p => p.Name))})", DefaultValueFactory = _ => "50" };
        var layers = new Option<string?>("--layers") { Description = "ReLU layers to attach ZAPs after, comma-separated state-dict names, or all (default: every ReLU after a conv but the first)" };
        var epochs = new Option<int>("--epochs") { Description = "Predictor training epochs", DefaultValueFactory = _ => 2 };
        var lr = new Option<double>("--lr") { Description = "Predictor Adam learning rate", DefaultValueFactory = _ => 0.01 };
        var bias = new Option<bool>("--bias") { Description = "Predictor convolutions with a bias (the reference code's choice)" };
        var threshold = new Option<string>("--threshold") { Description = "uniform, per-layer, or both", DefaultValueFactory = _ => "both" };
        var thresholds = new Option<string?>("--thresholds") { Description = "Thresholds t, comma-separated: the uniform sweep and the per-layer candidates (default 0,0.1,…,0.7)" };
        var budget = new Option<string?>("--budget") { Description = "Per-layer error budgets on Σ error(t), comma-separated (default 0.02,0.05,0.1,0.2)" };
        var recal = new Option<bool>("--recalibrate-bn") { Description = "Also evaluate each operating point after recomputing the backbone's BN statistics under the masks" };
        var recalBatches = new Option<int>("--recalibration-batches") { Description = "Training batches of the BN recalibration", DefaultValueFactory = _ => 50 };
        var fineTune = new Option<bool>("--fine-tune") { Description = "Also evaluate each operating point after one backbone epoch with the ZAPs frozen" };
        var fineTuneLr = new Option<double>("--fine-tune-lr") { Description = "Fine-tune SGD learning rate", DefaultValueFactory = _ => 1e-4 };
        var fineTuneLimit = new Option<int>("--fine-tune-limit") { Description = "Training examples of the fine-tune epoch (0 = all given)", DefaultValueFactory = _ => 0 };
        var trainLimit = new Option<int>("--train-limit") { Description = "Use only the first N training examples (0 = all)", DefaultValueFactory = _ => 0 };
        var testLimit = new Option<int>("--test-limit") { Description = "Use only the first N test examples (0 = all)", DefaultValueFactory = _ => 0 };
        var calibration = new Option<int>("--calibration-batches") { Description = "Training batches the threshold curves are measured on", DefaultValueFactory = _ => 40 };
        var batchSize = new Option<int>("--batch-size") { Description = "Mini-batch size", DefaultValueFactory = _ => 128 };
        var timing = new Option<int>("--timing-batches") { Description = "Test batches of the wall-clock comparison (0: skip it)", DefaultValueFactory = _ => 4 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the predictors' initialisation and the data order", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Folder for zap.csv and zap.png" };
        foreach (var o in new Option[] { checkpoint, model, dataDir, pattern, layers, epochs, lr, bias, threshold, thresholds, budget, recal, recalBatches,
                     fineTune, fineTuneLr, fineTuneLimit, trainLimit, testLimit, calibration, batchSize, timing, seed, output, DataInstaller.NoInstall })
            zap.Options.Add(o);
        zap.SetAction(p =>
        {
            int usage = 0;
            int rc = Cli.Run(() =>
            {
                ZapOptions options;
                string[] patterns;
                (bool Uniform, bool PerLayer) modes;
                try
                {
                    patterns = p.GetValue(pattern)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    OptionException.Require(patterns.Length > 0, "pattern", "names no pattern");
                    foreach (var name in patterns) SpatialPattern.Get(name);
                    modes = p.GetValue(threshold) switch
                    {
                        "uniform" => (true, false), "per-layer" or "per_layer" => (false, true), "both" => (true, true),
                        var v => throw new OptionException("threshold", $"'{v}' is not uniform, per-layer or both"),
                    };
                    options = new ZapOptions
                    {
                        Pattern = patterns[0], Layers = p.GetValue(layers), Epochs = p.GetValue(epochs), LearningRate = p.GetValue(lr), Bias = p.GetValue(bias),
                        BatchSize = p.GetValue(batchSize), RecalibrateBn = p.GetValue(recal), RecalibrationBatches = p.GetValue(recalBatches),
                        FineTune = p.GetValue(fineTune), FineTuneLearningRate = p.GetValue(fineTuneLr),
                        Thresholds = p.GetValue(thresholds) is { } t ? NumberList.Parse(t, "thresholds", "0.1,0.3,0.5") : new ZapOptions().Thresholds,
                        Budgets = p.GetValue(budget) is { } b ? NumberList.Parse(b, "budget", "0.1,0.3,0.5") : new ZapOptions().Budgets,
                    }.Validate();
                    OptionException.Require(p.GetValue(trainLimit) >= 0, "train_limit", $"must be ≥ 0, got {p.GetValue(trainLimit)}");
                    OptionException.Require(p.GetValue(testLimit) >= 0, "test_limit", $"must be ≥ 0, got {p.GetValue(testLimit)}");
                    OptionException.Require(p.GetValue(fineTuneLimit) >= 0, "fine_tune_limit", $"must be ≥ 0, got {p.GetValue(fineTuneLimit)}");
                    OptionException.Require(p.GetValue(calibration) >= 1, "calibration_batches", $"must be at least 1, got {p.GetValue(calibration)}");
                    OptionException.Require(p.GetValue(timing) >= 0, "timing_batches", $"must be ≥ 0, got {p.GetValue(timing)}");
                }
                catch (OptionException e)
                {
                    Console.Error.WriteLine($"frugal: {FlagFor(e.Key)}: {e.Reason}");
                    usage = 2;
                    return;
                }
                DataInstaller.EnsureFashionMnist(p.GetValue(dataDir), p);
                try
                {
                    Run(new Settings(p.GetValue(checkpoint)!.FullName, p.GetValue(model), p.GetValue(dataDir), patterns, modes.Uniform, modes.PerLayer, options,
                    p.GetValue(trainLimit), p.GetValue(testLimit), p.GetValue(fineTuneLimit), p.GetValue(calibration), p.GetValue(timing), p.GetValue(seed),
                    p.GetValue(output)?.FullName));
                }
                catch (OptionException e)
                {
                    // A flag whose value only the model can refuse (e.g. --layers naming no ReLU of it).
                    Console.Error.WriteLine($"frugal: {FlagFor(e.Key)}: {e.Reason}");
                    usage = 2;
                }
            });
            return usage != 0 ? usage : rc;
        });
        return zap;
    }

    sealed record Settings(string Checkpoint, string? Model, string? DataDir, string[] Patterns, bool Uniform, bool PerLayer, ZapOptions Options,
        int TrainLimit, int TestLimit, int FineTuneLimit, int CalibrationBatches, int TimingBatches, ulong Seed, string? Out);

    static void Run(Settings s)
    {
        var (model, name, sizes) = Checkpointing.LoadRun(s.Checkpoint, s.Model, Device.Cpu);
        var (trainSet, testSet) = FashionMnist.Load(s.DataDir, sizes?.Classes ?? 10);
        var train = trainSet.Take(s.TrainLimit);
        var test = testSet.Take(s.TestLimit);
        int bs = s.Options.BatchSize;
        var trainLoader = new DataLoader(train, bs, shuffle: true, seed: s.Seed);
        var calibLoader = new DataLoader(train, bs, shuffle: false);
        var fineTuneLoader = new DataLoader(train.Take(s.FineTuneLimit), bs, shuffle: true, seed: s.Seed + 1);
        var testLoader = new DataLoader(test, 1000, shuffle: false);
        var (_, baseline) = Training.Evaluation.Run(model, testLoader);
        Console.WriteLine($"zap: {name} from {s.Checkpoint}; dense test accuracy {Pct(baseline)} on {test.Count} test images; " +
                          $"predictors trained {s.Options.Epochs} epoch(s) on {train.Count} training images (Adam lr {F(s.Options.LearningRate)}, bias {(s.Options.Bias ? "on" : "off")})");
        var points = new List<Point>();
        var timings = new List<(string Pattern, Point Point, List<ZapTime> Times)>();
        foreach (var patternName in s.Patterns)
        {
            var options = s.Options with { Pattern = patternName };
            var pattern = SpatialPattern.Get(patternName);
            using var zap = ZapNetwork.Attach(model, options, new Shape(train.Channels, train.Height, train.Width), s.Seed);
            Console.WriteLine();
            Console.WriteLine($"pattern {pattern}: ZAPs after {string.Join(", ", zap.Layers)}; dense model {zap.ModelMacsPerImage / 1e6:F2} MMACs/image");
            zap.TrainPredictors(trainLoader, (e, losses) =>
                Console.WriteLine($"  predictor epoch {e + 1}: MSE {string.Join(", ", losses.Select((l, i) => $"{zap.Layers[i].Name} {l:F4}"))}"));
            var curves = zap.MeasureCurves(calibLoader, s.CalibrationBatches);
            var settings = new List<(string Mode, double Setting, double?[] Thresholds)>();
            if (s.Uniform) settings.AddRange(options.Thresholds.Select(t => ("uniform", t, zap.Layers.Select(_ => (double?)t).ToArray())));
            if (s.PerLayer) settings.AddRange(options.Budgets.Select(b => ("per_layer", b, ThresholdSolver.Thresholds(curves, b))));
            var first = points.Count;
            foreach (var (mode, setting, ts) in settings)
            {
                zap.SetThresholds(ts);
                var (acc, macs) = zap.Evaluate(testLoader);
                points.Add(new Point(patternName, mode, setting, "none", acc, macs, ts));
                if (options.RecalibrateBn || options.FineTune)
                {
                    var saved = zap.Snapshot();
                    if (options.RecalibrateBn)
                    {
                        zap.RecalibrateBn(calibLoader);
                        var (a, m) = zap.Evaluate(testLoader);
                        points.Add(new Point(patternName, mode, setting, "bn", a, m, ts));
                        zap.Restore(saved);
                    }
                    if (options.FineTune)
                    {
                        zap.FineTune(fineTuneLoader);
                        var (a, m) = zap.Evaluate(testLoader);
                        points.Add(new Point(patternName, mode, setting, "fine_tune", a, m, ts));
                        zap.Restore(saved);
                    }
                }
            }
            var mine = points.Skip(first).ToList();
            var best = Best(mine.Where(q => q.Recovery == "none").ToList(), baseline);
            Console.WriteLine($"  per-layer MACs at the best plain point ({best.Mode} {F(best.Setting)}, accuracy {Pct(best.Accuracy)}):");
            PrintLayers(best.Macs);
            if (s.TimingBatches > 0)
            {
                zap.SetThresholds(best.Thresholds);
                var batches = new DataLoader(test, bs, shuffle: false).Epoch(0).Take(s.TimingBatches).Select(b => b.Inputs).ToList();
                timings.Add((patternName, best, ZapTiming.Measure(zap, batches)));
            }
        }
        Console.WriteLine();
        PrintTable(points, baseline);
        if (timings.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"wall-clock, dense vs skipping the predicted zeros (batches of {bs}, {s.TimingBatches} batches, median of 5 interleaved rounds, ms):");
            Console.WriteLine("| pattern | point | what | dense ms | ZAP ms | ratio | outputs skipped |");
            Console.WriteLine("|---|---|---|---:|---:|---:|---:|");
            foreach (var (pat, pt, times) in timings)
                foreach (var t in times)
                    Console.WriteLine($"| {pat} | {pt.Mode} {F(pt.Setting)} | {t.What} | {t.DenseMs:F1} | {t.SparseMs:F1} | {t.Ratio:F2} | {Pct(t.SkippedFraction)} |");
        }
        var within = points.Where(q => baseline - q.Accuracy <= 0.005).OrderByDescending(q => q.Macs.NetSavedFraction).FirstOrDefault();
        Console.WriteLine();
        Console.WriteLine(within == null ? "no operating point within 0.5 pp of the dense accuracy"
            : $"best within 0.5 pp: {Pct(within.Macs.NetSavedFraction)} of the MACs saved net of the predictors, accuracy {Pct(within.Accuracy)} " +
              $"({100 * (within.Accuracy - baseline):+0.00;-0.00} pp; pattern {within.Pattern}, {within.Mode} {F(within.Setting)}, recovery {within.Recovery})");
        if (s.Out == null) return;
        Directory.CreateDirectory(s.Out);
        var csv = Path.Combine(s.Out, "zap.csv");
        IO.AtomicFile.WriteAllText(csv, Csv(points, baseline, timings));
        var png = Path.Combine(s.Out, "zap.png");
        var bytes = Chart(points, baseline);
        IO.AtomicFile.Write(png, f => f.Write(bytes));
        Console.WriteLine($"wrote {csv} and {png}");
    }

    /// <summary>The plain point with the most net MACs saved within 0.5 pp of the dense accuracy, else the most accurate.</summary>
    static Point Best(List<Point> points, double baseline) =>
        points.Where(q => baseline - q.Accuracy <= 0.005).OrderByDescending(q => q.Macs.NetSavedFraction).FirstOrDefault()
        ?? points.OrderByDescending(q => q.Accuracy).First();

    static void PrintLayers(ZapMacReport r)
    {
        Console.WriteLine("  | layer | conv | t | conv MMACs | predicted zero | saved MMACs | predictor MMACs | net MMACs | error |");
        Console.WriteLine("  |---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var l in r.Layers)
            Console.WriteLine($"  | {l.Layer} | {l.Conv} | {(l.Threshold is { } t ? F(t) : "off")} | {l.ConvMacs / 1e6:F3} | {Pct(l.PredictedZeroFraction)} | " +
                              $"{l.GrossSavedMacs / 1e6:F3} | {l.PredictorMacs / 1e6:F3} | {l.NetSavedMacs / 1e6:F3} | {l.Error:F4} |");
        Console.WriteLine($"  | total | | | {r.ModelMacs / 1e6:F3} (model) | | {r.GrossSavedMacs / 1e6:F3} | {r.PredictorMacs / 1e6:F3} | {r.NetSavedMacs / 1e6:F3} " +
                          $"({Pct(r.NetSavedFraction)}) | {r.TotalError:F4} |");
    }

    static void PrintTable(List<Point> points, double baseline)
    {
        Console.WriteLine("| pattern | thresholds | setting | recovery | accuracy | Δ pp | MACs saved (gross) | predictor MACs | MACs saved (net) | Σ error | per-layer t |");
        Console.WriteLine("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var q in points)
            Console.WriteLine($"| {q.Pattern} | {q.Mode} | {F(q.Setting)} | {q.Recovery} | {Pct(q.Accuracy)} | {100 * (q.Accuracy - baseline):+0.00;-0.00} | " +
                              $"{Pct(q.Macs.GrossSavedFraction)} | {Pct(q.Macs.PredictorFraction)} | {Pct(q.Macs.NetSavedFraction)} | {q.Macs.TotalError:F4} | {Ts(q.Thresholds)} |");
    }

    static string Csv(List<Point> points, double baseline, List<(string Pattern, Point Point, List<ZapTime> Times)> timings)
    {
        var b = new StringBuilder("pattern,mode,setting,recovery,accuracy,baseline_accuracy,gross_saved_fraction,predictor_fraction,net_saved_fraction,total_error,thresholds\n");
        foreach (var q in points)
            b.AppendLine(string.Join(",", q.Pattern, q.Mode, R(q.Setting), q.Recovery, R(q.Accuracy), R(baseline), R(q.Macs.GrossSavedFraction),
                R(q.Macs.PredictorFraction), R(q.Macs.NetSavedFraction), R(q.Macs.TotalError), Ts(q.Thresholds).Replace(',', ' ')));
        foreach (var (pat, pt, times) in timings)
            foreach (var t in times)
                b.AppendLine(string.Join(",", pat, "timing:" + t.What.Replace(',', ' '), R(pt.Setting), pt.Mode, R(t.DenseMs), R(t.SparseMs), R(t.Ratio), "", R(t.SkippedFraction), "", ""));
        return b.ToString();
    }

    /// <summary>Accuracy against net MACs saved, one series per pattern, threshold mode and recovery; the 0.5 pp line.</summary>
    static byte[] Chart(List<Point> points, double baseline)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (var g in points.GroupBy(q => (q.Pattern, q.Mode, q.Recovery)))
        {
            var sorted = g.OrderBy(q => q.Macs.NetSavedFraction).ToList();
            var s = plot.Add.Scatter(sorted.Select(q => 100 * q.Macs.NetSavedFraction).ToArray(), sorted.Select(q => 100 * q.Accuracy).ToArray(), palette.GetColor(i++));
            s.LegendText = $"P {g.Key.Pattern}%, {g.Key.Mode}, {g.Key.Recovery}";
            s.MarkerSize = 7;
            if (g.Key.Mode == "per_layer") s.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        var line = plot.Add.HorizontalLine(100 * (baseline - 0.005));
        line.LegendText = "dense − 0.5 pp";
        line.LinePattern = ScottPlot.LinePattern.Dotted;
        plot.XLabel("MACs saved net of the predictors, % of the dense model");
        plot.YLabel("test accuracy, %");
        plot.Title($"ZAP: accuracy vs MACs saved (dense {Pct(baseline)})");
        plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        return plot.GetImageBytes(900, 560, ScottPlot.ImageFormat.Png);
    }

    static string FlagFor(string key) => key switch
    {
        "learning_rate" => "--lr",
        "fine_tune_learning_rate" => "--fine-tune-lr",
        "thresholds" => "--thresholds",
        _ => "--" + key.Replace('_', '-'),
    };

    static string Ts(double?[] ts) => string.Join(",", ts.Select(t => t is { } v ? F(v) : "off"));
    static string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
    static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);
    static string Pct(double share) => (100 * share).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
