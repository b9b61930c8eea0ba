using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Frugal.Data;
using Frugal.Methods.ClosedForm;
using Frugal.Nn;
using Frugal.Options;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Cli;

/// <summary>
/// `frugal fit-closed-form`: the closed-form MLP fit (<see cref="ClosedFormMlp"/>, ../shared/METHODS.md §4.5, PROPOSAL)
/// on a toy problem or Fashion-MNIST, swept over hidden widths and λ, with the same architecture trained by SGD on the
/// same data for comparison. A markdown table on stdout; closed_form.csv, closed_form.png, the most accurate fit's
/// model.safetensors (and, for Fashion-MNIST, a config.json so `frugal eval` and `frugal train --init-from` take it) in --out.
/// </summary>
static class ClosedFormCommand
{
    sealed record Problem(string Name, IDataset Train, IDataset Test, int Inputs, int Classes);
    sealed record Row(string Method, int Width, double Lambda, double LambdaUsed, int Rounds, double FirstTrain, double Train, double Test, double Seconds);

    static readonly string[] DataNames = ["spirals", "xor", "sine", "fashion"];

    public static Command Create()
    {
        var defaults = new ClosedFormOptions();
        var cmd = new Command("fit-closed-form", "PROPOSAL (METHODS.md §4.5): fit a one-hidden-layer MLP in closed form (ridge output layer, hidden refits through f⁻¹), vs SGD");
        var data = new Option<string>("--data") { Description = $"Problem: {string.Join(", ", DataNames)}", Required = true };
        var width = new Option<int?>("--width") { Description = $"Hidden width (default {defaults.HiddenWidth})" };
        var widths = new Option<string?>("--widths") { Description = "Hidden widths to sweep, comma-separated (instead of --width)" };
        var lambda = new Option<double?>("--lambda") { Description = $"Ridge λ (default {F(defaults.Lambda)})" };
        var lambdas = new Option<string?>("--lambdas") { Description = "λ values to sweep, comma-separated (instead of --lambda)" };
        var rounds = new Option<int>("--rounds") { Description = "Hidden-layer refits (0: random hidden layer, output fit only)", DefaultValueFactory = _ => defaults.Rounds };
        var activation = new Option<string>("--activation") { Description = "Hidden activation: tanh, sigmoid or leaky_relu", DefaultValueFactory = _ => EnumNames<ActivationKind>.Name(defaults.Activation) };
        var targets = new Option<string>("--hidden-targets") { Description = $"Hidden targets H*: {string.Join(", ", EnumNames<HiddenTargetRule>.All)} (the PROPOSAL's literal T·W₂⁺)", DefaultValueFactory = _ => EnumNames<HiddenTargetRule>.Name(defaults.HiddenTargets) };
        var initScale = new Option<double>("--init-scale") { Description = "W₁ ~ N(0, s²/d), b₁ ~ N(0, s²)", DefaultValueFactory = _ => defaults.InitScale };
        var clip = new Option<double>("--clip-margin") { Description = "Hidden targets are clipped to f's range shrunk by this before f⁻¹", DefaultValueFactory = _ => defaults.ClipMargin };
        var noBias = new Option<bool>("--no-bias") { Description = "Fit no biases" };
        var trainLimit = new Option<int>("--train-limit") { Description = "Training examples (toy: generated; fashion: the first N)", DefaultValueFactory = _ => 1000 };
        var testLimit = new Option<int>("--test-limit") { Description = "Test examples (toy: generated; fashion: the first N, 0 = all)", DefaultValueFactory = _ => 1000 };
        var noise = new Option<double?>("--noise") { Description = "Toy problems' noise (default: spirals 0.2, xor 0.05, sine 0.05)" };
        var classes = new Option<int>("--classes") { Description = "Spirals: arms", DefaultValueFactory = _ => 3 };
        var sgd = new Option<int>("--compare-sgd") { Description = "Also train the same architecture with SGD (softmax + cross-entropy; MSE for sine) for this many epochs (0 = off)", DefaultValueFactory = _ => 0 };
        var sgdLr = new Option<double>("--sgd-lr") { Description = "SGD learning rate (momentum 0.9)", DefaultValueFactory = _ => 0.05 };
        var sgdBatch = new Option<int>("--sgd-batch-size") { Description = "SGD mini-batch size", DefaultValueFactory = _ => 32 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the data (toy), W₁'s initialisation and SGD", DefaultValueFactory = _ => 0 };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of MNIST-format IDX files (default: Debian's Fashion-MNIST)" };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Folder for closed_form.csv, closed_form.png and the best fit's model.safetensors" };
        foreach (var o in new Option[] { data, width, widths, lambda, lambdas, rounds, activation, targets, initScale, clip, noBias, trainLimit, testLimit, noise,
                     classes, sgd, sgdLr, sgdBatch, seed, dataDir, output, DataInstaller.NoInstall })
            cmd.Options.Add(o);
        cmd.SetAction(p =>
        {
            int usage = 0;
            int rc = Cli.Run(() =>
            {
                Settings s;
                try
                {
                    var name = p.GetValue(data)!;
                    OptionException.Require(DataNames.Contains(name), "data", $"'{name}' is not one of {string.Join(", ", DataNames)}");
                    OptionException.Require(p.GetValue(width) == null || p.GetValue(widths) == null, "widths", "give --width or --widths, not both");
                    OptionException.Require(p.GetValue(lambda) == null || p.GetValue(lambdas) == null, "lambdas", "give --lambda or --lambdas, not both");
                    var ws = p.GetValue(widths) is { } wl ? Numbers(wl, "widths").Select(v => (int)v).ToArray() : [p.GetValue(width) ?? defaults.HiddenWidth];
                    var ls = p.GetValue(lambdas) is { } ll ? Numbers(ll, "lambdas") : [p.GetValue(lambda) ?? defaults.Lambda];
                    var options = new ClosedFormOptions
                    {
                        Rounds = p.GetValue(rounds), Activation = EnumNames<ActivationKind>.Parse(p.GetValue(activation)!, "activation"),
                        HiddenTargets = EnumNames<HiddenTargetRule>.Parse(p.GetValue(targets)!, "hidden_targets"),
                        InitScale = p.GetValue(initScale), ClipMargin = p.GetValue(clip), Bias = !p.GetValue(noBias), Seed = p.GetValue(seed),
                    };
                    foreach (var w in ws) (options with { HiddenWidth = w }).Validate();
                    foreach (var l in ls) (options with { Lambda = l }).Validate();
                    options.Validate();
                    OptionException.Require(p.GetValue(trainLimit) >= 1, "train_limit", $"must be at least 1, got {p.GetValue(trainLimit)}");
                    OptionException.Require(p.GetValue(testLimit) >= (name == "fashion" ? 0 : 1), "test_limit", $"must be at least {(name == "fashion" ? 0 : 1)}, got {p.GetValue(testLimit)}");
                    OptionException.Require(p.GetValue(noise) is not { } nz || (nz >= 0 && double.IsFinite(nz)), "noise", $"must be ≥ 0, got {p.GetValue(noise)}");
                    OptionException.Require(p.GetValue(classes) >= 2, "classes", $"must be at least 2, got {p.GetValue(classes)}");
                    OptionException.Require(p.GetValue(sgd) >= 0, "compare_sgd", $"must be ≥ 0 epochs, got {p.GetValue(sgd)}");
                    OptionException.Require(p.GetValue(sgdLr) > 0 && double.IsFinite(p.GetValue(sgdLr)), "sgd_lr", $"must be positive, got {p.GetValue(sgdLr)}");
                    OptionException.Require(p.GetValue(sgdBatch) >= 1, "sgd_batch_size", $"must be at least 1, got {p.GetValue(sgdBatch)}");
                    s = new Settings(name, ws, ls, options, p.GetValue(trainLimit), p.GetValue(testLimit), p.GetValue(noise), p.GetValue(classes),
                        p.GetValue(sgd), p.GetValue(sgdLr), p.GetValue(sgdBatch), p.GetValue(dataDir), p.GetValue(output)?.FullName);
                }
                catch (OptionException e)
                {
                    Console.Error.WriteLine($"frugal: {FlagFor(e.Key)}: {e.Reason}");
                    usage = 2;
                    return;
                }
                if (s.Data == "fashion") DataInstaller.EnsureFashionMnist(s.DataDir, p);
                Run(s);
            });
            return usage != 0 ? usage : rc;
        });
        return cmd;
    }

    sealed record Settings(string Data, int[] Widths, double[] Lambdas, ClosedFormOptions Options, int TrainLimit, int TestLimit, double? Noise,
        int Classes, int SgdEpochs, double SgdLr, int SgdBatch, string? DataDir, string? Out);

    static Problem Load(Settings s)
    {
        ulong seed = s.Options.Seed;
        switch (s.Data)
        {
            case "spirals":
                return new("spirals", ToyData.Spirals(s.TrainLimit, s.Classes, s.Noise ?? 0.2, seed), ToyData.Spirals(s.TestLimit, s.Classes, s.Noise ?? 0.2, seed + 1_000_003), 2, s.Classes);
            case "xor":
                return new("xor", ToyData.Xor(s.TrainLimit, s.Noise ?? 0.05, seed), ToyData.Xor(s.TestLimit, s.Noise ?? 0.05, seed + 1_000_003), 2, 2);
            case "sine":
                return new("sine", ToyData.Sine(s.TrainLimit, s.Noise ?? 0.05, seed), ToyData.Sine(s.TestLimit, s.Noise ?? 0.05, seed + 1_000_003), 1, 0);
            default:
                var (train, test) = FashionMnist.Load(s.DataDir);
                return new("fashion", train.Take(s.TrainLimit), test.Take(s.TestLimit), train.ImageSize, train.Classes);
        }
    }

    static void Run(Settings s)
    {
        var problem = Load(s);
        var all = problem.Train.GetBatch(Enumerable.Range(0, problem.Train.Count).ToArray(), Device.Cpu, new Generator(0));
        bool regression = problem.Classes == 0;
        string metric = regression ? "MSE" : "accuracy";
        var testLoader = new DataLoader(problem.Test, 1000, shuffle: false);
        LossFunction? loss = regression ? LossFunctions.MeanSquaredError() : null;
        double Test(Module m)
        {
            var (l, a) = Evaluation.Run(m, testLoader, loss);
            return regression ? l : a;
        }
        Console.WriteLine($"fit-closed-form (PROPOSAL, METHODS.md §4.5): {problem.Name}, {problem.Train.Count} training and {problem.Test.Count} test examples, " +
                          $"{problem.Inputs} inputs, {(regression ? "regression (MSE)" : $"{problem.Classes} classes")}; activation {EnumNames<ActivationKind>.Name(s.Options.Activation)}, " +
                          $"{s.Options.Rounds} round(s) ({EnumNames<HiddenTargetRule>.Name(s.Options.HiddenTargets)} hidden targets), init scale {F(s.Options.InitScale)}, seed {s.Options.Seed}");
        var rows = new List<Row>();
        (double Test, Module Model, int Width)? best = null;
        foreach (var w in s.Widths)
        {
            foreach (var l in s.Lambdas)
            {
                var options = s.Options with { HiddenWidth = w, Lambda = l };
                var fit = regression ? ClosedFormMlp.Fit(all.Inputs, all.Targets!, options) : ClosedFormMlp.Fit(all.Inputs, all.Labels!, options, problem.Classes);
                double test = Test(fit.Model);
                var first = fit.Rounds[0];
                var last = fit.Rounds[^1];
                var row = new Row("closed_form", w, l, fit.Rounds.Max(r => r.Lambda), options.Rounds,
                    regression ? first.TrainMse : first.TrainAccuracy!.Value, regression ? last.TrainMse : last.TrainAccuracy!.Value, test, fit.Seconds);
                rows.Add(row);
                Console.WriteLine($"  closed form  width {w,6}  λ {F(l),-7} train {metric} {Metric(row.FirstTrain, regression)} (round 0) → {Metric(row.Train, regression)}, " +
                                  $"test {Metric(test, regression)}, {fit.Seconds:F2} s{(row.LambdaUsed > l ? $" (λ raised to {row.LambdaUsed:G3} for the float32 Gram matrix)" : "")}");
                if (best == null || (regression ? test < best.Value.Test : test > best.Value.Test)) best = (test, fit.Model, w);
            }
            if (s.SgdEpochs > 0) rows.Add(Sgd(s, problem, w, loss, Test));
        }
        Console.WriteLine();
        Console.WriteLine($"| method | width | λ | λ used | rounds | train {metric} (round 0) | train {metric} | test {metric} | seconds |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            Console.WriteLine(r.Method == "sgd"
                ? $"| SGD, {r.Rounds} epochs | {r.Width} | | | | | {Metric(r.Train, regression)} | {Metric(r.Test, regression)} | {r.Seconds:F2} |"
                : $"| closed form | {r.Width} | {F(r.Lambda)} | {r.LambdaUsed:G3} | {r.Rounds} | {Metric(r.FirstTrain, regression)} | {Metric(r.Train, regression)} | {Metric(r.Test, regression)} | {r.Seconds:F2} |");
        if (s.Out == null) return;
        Directory.CreateDirectory(s.Out);
        var csv = Path.Combine(s.Out, "closed_form.csv");
        IO.AtomicFile.WriteAllText(csv, Csv(rows, problem));
        var png = Path.Combine(s.Out, "closed_form.png");
        var bytes = Chart(rows, problem, metric);
        IO.AtomicFile.Write(png, f => f.Write(bytes));
        var model = Path.Combine(s.Out, "model.safetensors");
        Checkpoints.SafeTensors.Save(model, best!.Value.Model.StateDict());
        if (problem.Name == "fashion")
            IO.AtomicFile.WriteAllText(Path.Combine(s.Out, "config.json"), new Runs.TrainOptions
            {
                Model = "mlp", ModelOptions = new Models.ModelOptions(Hidden: [best.Value.Width], Classes: problem.Classes, Activation: s.Options.Activation),
                TrainLimit = s.TrainLimit, Seed = s.Options.Seed,
            }.ToJson());
        Console.WriteLine($"wrote {csv}, {png} and {model} (the fit with the best test {metric}, width {best.Value.Width})");
    }

    /// <summary>The same architecture, freshly initialised, trained end to end by SGD (momentum 0.9) with the Trainer.</summary>
    static Row Sgd(Settings s, Problem problem, int width, LossFunction? loss, Func<Module, double> test)
    {
        var options = s.Options with { HiddenWidth = width };
        var model = ClosedFormMlp.NewModel(problem.Inputs, Math.Max(problem.Classes, 1), options, new Generator(s.Options.Seed));
        var optimizer = new Optim.Sgd(model.Parameters(), s.SgdLr, momentum: 0.9);
        var trainer = new Trainer(model, optimizer, new DataLoader(problem.Train, s.SgdBatch, shuffle: true, seed: s.Options.Seed), loss: loss);
        var clock = Stopwatch.StartNew();
        try { trainer.Run(s.SgdEpochs); }
        catch (TrainingDivergedException e)
        {
            Console.WriteLine($"  SGD          width {width,6}  {s.SgdEpochs} epochs, lr {F(s.SgdLr)}: diverged ({e.Message.Split(';')[0]})");
            return new Row("sgd", width, double.NaN, double.NaN, s.SgdEpochs, double.NaN, double.NaN, double.NaN, clock.Elapsed.TotalSeconds);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var (l, a) = Evaluation.Run(model, new DataLoader(problem.Train, 1000, shuffle: false), loss);
        double train = loss == null ? a : l;
        double t = test(model);
        bool regression = problem.Classes == 0;
        Console.WriteLine($"  SGD          width {width,6}  {s.SgdEpochs} epochs, lr {F(s.SgdLr)}, batch {s.SgdBatch}: train {Metric(train, regression)}, test {Metric(t, regression)}, {seconds:F2} s");
        return new Row("sgd", width, double.NaN, double.NaN, s.SgdEpochs, double.NaN, train, t, seconds);
    }

    static string Csv(List<Row> rows, Problem problem)
    {
        var b = new StringBuilder("data,method,width,train_examples,lambda,lambda_used,rounds_or_epochs,train_metric_round0,train_metric,test_metric,seconds\n");
        foreach (var r in rows)
            b.AppendLine(string.Join(",", problem.Name, r.Method, r.Width, problem.Train.Count, R(r.Lambda), R(r.LambdaUsed), r.Rounds, R(r.FirstTrain), R(r.Train), R(r.Test), R(r.Seconds)));
        return b.ToString();
    }

    /// <summary>Test metric against hidden width (log scale), one series per λ and one for SGD; a line at width = n.</summary>
    static byte[] Chart(List<Row> rows, Problem problem, string metric)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int i = 0;
        foreach (var g in rows.GroupBy(r => r.Method == "sgd" ? "SGD" : $"closed form, λ = {F(r.Lambda)}"))
        {
            var sorted = g.OrderBy(r => r.Width).ToList();
            var series = plot.Add.Scatter(sorted.Select(r => Math.Log10(r.Width)).ToArray(), sorted.Select(r => problem.Classes == 0 ? r.Test : 100 * r.Test).ToArray(), palette.GetColor(i++));
            series.LegendText = g.Key;
            series.MarkerSize = 7;
            if (g.Key == "SGD") series.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        var n = plot.Add.VerticalLine(Math.Log10(problem.Train.Count));
        n.LegendText = $"width = n = {problem.Train.Count}";
        n.LinePattern = ScottPlot.LinePattern.Dotted;
        plot.XLabel("hidden width (log10)");
        plot.YLabel(problem.Classes == 0 ? "test MSE" : "test accuracy, %");
        plot.Title($"closed-form MLP fit vs SGD: {problem.Name}, test {metric}");
        plot.ShowLegend(ScottPlot.Alignment.LowerLeft);
        return plot.GetImageBytes(900, 560, ScottPlot.ImageFormat.Png);
    }

    static double[] Numbers(string text, string key)
    {
        var values = NumberList.Parse(text, key, key == "widths" ? "16,64,256" : "1e-8,1e-4,1");
        foreach (var v in values)
            OptionException.Require(key != "widths" || (v >= 1 && v == Math.Floor(v) && v <= int.MaxValue), key, $"'{v}' is not a whole number ≥ 1");
        return values;
    }

    static string FlagFor(string key) => key switch
    {
        "hidden_width" => "--width",
        "bias" => "--no-bias",
        _ => "--" + key.Replace('_', '-'),
    };

    static string Metric(double v, bool regression) => regression ? v.ToString("G4", CultureInfo.InvariantCulture) : Pct(v);
    static string F(double v) => v.ToString("G3", CultureInfo.InvariantCulture);
    static string R(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
    static string Pct(double share) => (100 * share).ToString("F2", CultureInfo.InvariantCulture) + "%";
}
