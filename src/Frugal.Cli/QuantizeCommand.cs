using System.CommandLine;
using System.Globalization;
using System.Text;
using Frugal.Data;
using Frugal.Methods.Robustness;
using Frugal.Runs;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Cli;

/// <summary>
/// `frugal quantize`: post-training quantisation sweeps of trained checkpoints (../shared/METHODS.md §5,
/// <see cref="PostTrainingQuantization"/>): test accuracy at W8…W2 with float activations, at W/A pairs, under step
/// perturbations r·Δ and with power-of-two steps, each checkpoint side by side (KURE vs plain). A markdown table on
/// stdout; quantize.csv, quantize-bits.png and quantize-perturb.png in --out.
/// </summary>
static class QuantizeCommand
{
    sealed record Point(string Label, string Kind, PtqSettings Settings);
    sealed record Column(string Label, string Path, string Model, Frugal.Models.ModelOptions? Sizes);

    public static Command Create()
    {
        var command = new Command("quantize", "Post-training quantisation sweep of checkpoints: weight bits, W/A pairs, step perturbation, power-of-two steps");
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "model.safetensors written by frugal train", Required = true };
        var compare = new Option<FileInfo[]>("--compare") { Description = "More checkpoints to sweep side by side (e.g. the KURE model)", AllowMultipleArgumentsPerToken = true };
        var model = new Option<string?>("--model") { Description = "Model of the checkpoints (default: from config.json beside each, else cnn)" };
        var weightBits = new Option<string>("--weight-bits") { Description = "Weight bit widths with float activations, comma-separated (2..16; empty: none)", DefaultValueFactory = _ => "8,6,4,3,2" };
        var actBits = new Option<string>("--act-bits") { Description = "W/A pairs: bit widths used for both weights and activations, comma-separated (empty: none)", DefaultValueFactory = _ => "6,5,4,3" };
        var perturb = new Option<string>("--perturb") { Description = "Step perturbation r·Δ as LO:HI:POINTS (empty: none)", DefaultValueFactory = _ => "0.7:1.3:21" };
        var perturbBits = new Option<int>("--perturb-bits") { Description = "Weight bits of the step-perturbation curve (float activations)", DefaultValueFactory = _ => 4 };
        var pow2 = new Option<bool>("--pow2") { Description = "Also power-of-two steps at each --weight-bits" };
        var edgeBits = new Option<int>("--edge-bits") { Description = "Bits of the first and last layer", DefaultValueFactory = _ => 8 };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of MNIST-format IDX files (default: Debian's Fashion-MNIST)" };
        var testLimit = new Option<int>("--test-limit") { Description = "Use only the first N test examples (0 = all)", DefaultValueFactory = _ => 0 };
        var calibration = new Option<int>("--calibration") { Description = "Training images whose activations calibrate the activation steps", DefaultValueFactory = _ => 512 };
        var device = new Option<string>("--device") { Description = "Device: cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Folder for quantize.csv and the charts" };
        foreach (var o in new Option[] { checkpoint, compare, model, weightBits, actBits, perturb, perturbBits, pow2, edgeBits, dataDir, testLimit, calibration, device, output, DataInstaller.NoInstall })
            command.Options.Add(o);
        command.SetAction(p => Cli.Run(() =>
        {
            int edge = p.GetValue(edgeBits);
            if (edge is < 2 or > 16) throw new ArgumentException($"--edge-bits: must be in 2..16, got {edge}");
            if (p.GetValue(testLimit) < 0) throw new ArgumentException($"--test-limit: must be ≥ 0 (0 = all), got {p.GetValue(testLimit)}");
            if (p.GetValue(calibration) < 1) throw new ArgumentException($"--calibration: must be at least 1 image, got {p.GetValue(calibration)}");
            var points = Points(ParseBits(p.GetValue(weightBits)!, "--weight-bits"), ParseBits(p.GetValue(actBits)!, "--act-bits"),
                ParsePerturb(p.GetValue(perturb)!), ParseBits(p.GetValue(perturbBits).ToString(CultureInfo.InvariantCulture), "--perturb-bits")[0],
                p.GetValue(pow2), edge);
            var d = Device.Parse(p.GetValue(device)!);
            var files = new[] { p.GetValue(checkpoint)! }.Concat(p.GetValue(compare) ?? []).Select(f => f.FullName).ToList();
            var columns = Columns(files, p.GetValue(model));
            DataInstaller.EnsureFashionMnist(p.GetValue(dataDir), p);
            var (train, test) = FashionMnist.Load(p.GetValue(dataDir), columns.Max(c => c.Sizes?.Classes ?? 10));
            var testLoader = new DataLoader(test.Take(p.GetValue(testLimit)), 1000, shuffle: false, device: d);
            var calib = new DataLoader(train.Take(p.GetValue(calibration)), 256, shuffle: false, device: d).Epoch(1).Select(b => b.Inputs).ToList();
            var results = new double[points.Count, columns.Count];
            for (int c = 0; c < columns.Count; c++)
                for (int i = 0; i < points.Count; i++)
                {
                    var m = Checkpointing.Load(columns[c].Path, columns[c].Model, columns[c].Sizes, d);
                    if (points[i].Kind != "fp") PostTrainingQuantization.Apply(m, points[i].Settings, calib);
                    results[i, c] = Evaluation.Run(m, testLoader).Accuracy;
                }
            Report(points, columns, results, testLoader.Data.Count, p.GetValue(output)?.FullName);
        }));
        return command;
    }

    static List<Point> Points(int[] weightBits, int[] actBits, double[] perturb, int perturbBits, bool pow2, int edge)
    {
        var points = new List<Point> { new("fp32", "fp", new PtqSettings()) };
        foreach (var b in weightBits) points.Add(new($"W{b}", "w", new PtqSettings { WeightBits = b, EdgeBits = edge }));
        foreach (var b in actBits) points.Add(new($"W{b}A{b}", "wa", new PtqSettings { WeightBits = b, ActivationBits = b, EdgeBits = edge }));
        if (pow2) foreach (var b in weightBits) points.Add(new($"W{b} pow2", "pow2", new PtqSettings { WeightBits = b, EdgeBits = edge, PowerOfTwo = true }));
        foreach (var r in perturb) points.Add(new($"W{perturbBits} r={r.ToString("0.###", CultureInfo.InvariantCulture)}", "perturb", new PtqSettings { WeightBits = perturbBits, EdgeBits = edge, StepScale = r }));
        return points;
    }

    static List<Column> Columns(List<string> files, string? model)
    {
        var columns = new List<Column>();
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw new FileNotFoundException($"{f}: no such checkpoint (give the model.safetensors of a run folder)");
            var (name, sizes) = Checkpointing.ModelOfRun(f, model);
            string label = Path.GetFileName(Path.GetDirectoryName(f)) ?? f;
            if (columns.Any(c => c.Label == label) || label.Length == 0) label = f;
            columns.Add(new Column(label, f, name, sizes));
        }
        return columns;
    }

    static void Report(List<Point> points, List<Column> columns, double[,] acc, int examples, string? outDir)
    {
        Console.WriteLine($"post-training quantisation, test accuracy % on {examples} images (per-tensor symmetric weights, MSE steps, first/last layer at edge bits, BatchNorm in float)");
        Console.WriteLine();
        Console.WriteLine("| point | " + string.Join(" | ", columns.Select(c => $"{c.Label} | drop")) + " |");
        Console.WriteLine("|---|" + string.Concat(columns.Select(_ => "---:|---:|")));
        for (int i = 0; i < points.Count; i++)
            Console.WriteLine($"| {points[i].Label} | " + string.Join(" | ", columns.Select((_, c) => $"{Pct(acc[i, c])} | {Pct(acc[i, c] - acc[0, c])}")) + " |");
        if (outDir == null) return;
        Directory.CreateDirectory(outDir);
        var csv = new StringBuilder("checkpoint,path,point,kind,weight_bits,act_bits,step_scale,pow2,test_accuracy\n");
        for (int c = 0; c < columns.Count; c++)
            for (int i = 0; i < points.Count; i++)
            {
                var s = points[i].Settings;
                csv.AppendLine(string.Join(",", columns[c].Label, columns[c].Path, points[i].Label, points[i].Kind,
                    s.WeightBits?.ToString(CultureInfo.InvariantCulture) ?? "", s.ActivationBits?.ToString(CultureInfo.InvariantCulture) ?? "",
                    s.StepScale.ToString("R", CultureInfo.InvariantCulture), s.PowerOfTwo ? "1" : "0", acc[i, c].ToString("R", CultureInfo.InvariantCulture)));
            }
        var files = new List<string> { Path.Combine(outDir, "quantize.csv") };
        IO.AtomicFile.WriteAllText(files[0], csv.ToString());
        foreach (var (kind, name, xLabel) in new[] { ("w", "quantize-bits.png", "weight bits (float activations)"), ("perturb", "quantize-perturb.png", "step scale r (Δ = r·Δ_MSE)") })
        {
            var idx = Enumerable.Range(0, points.Count).Where(i => points[i].Kind == kind).ToArray();
            if (idx.Length == 0) continue;
            var png = Path.Combine(outDir, name);
            var bytes = Chart(points, columns, acc, idx, kind == "w" ? i => points[i].Settings.WeightBits!.Value : i => points[i].Settings.StepScale, xLabel);
            IO.AtomicFile.Write(png, s => s.Write(bytes));
            files.Add(png);
        }
        Console.WriteLine();
        Console.WriteLine($"wrote {string.Join(", ", files)}");
    }

    static byte[] Chart(List<Point> points, List<Column> columns, double[,] acc, int[] idx, Func<int, double> x, string xLabel)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int c = 0; c < columns.Count; c++)
        {
            var s = plot.Add.Scatter(idx.Select(x).ToArray(), idx.Select(i => 100 * acc[i, c]).ToArray(), palette.GetColor(c));
            s.LegendText = columns[c].Label;
            s.LineWidth = 2; s.MarkerSize = 7;
            var fp = plot.Add.HorizontalLine(100 * acc[0, c], 1, palette.GetColor(c));
            fp.LinePattern = ScottPlot.LinePattern.Dotted;
        }
        plot.XLabel(xLabel);
        plot.YLabel("test accuracy, %");
        plot.Title("post-training quantisation (dotted: float)");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        return plot.GetImageBytes(800, 500, ScottPlot.ImageFormat.Png);
    }

    static int[] ParseBits(string text, string flag)
    {
        var bits = new List<int>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int b) || b is < 2 or > 16)
                throw new ArgumentException($"{flag}: '{part}' is not a bit width in 2..16 (give e.g. 8,4,3)");
            bits.Add(b);
        }
        return bits.ToArray();
    }

    static double[] ParsePerturb(string text)
    {
        if (text.Trim().Length == 0) return [];
        var parts = text.Split(':', StringSplitOptions.TrimEntries);
        if (parts.Length != 3 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out double lo)
            || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double hi)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || !(lo > 0) || !(hi >= lo) || !double.IsFinite(hi) || n < 1 || n > 1000)
            throw new ArgumentException($"--perturb: '{text}' is not LO:HI:POINTS with 0 < LO ≤ HI and 1..1000 points (e.g. 0.7:1.3:21)");
        return n == 1 ? [lo] : Enumerable.Range(0, n).Select(i => lo + (hi - lo) * i / (n - 1)).ToArray();
    }

    static string Pct(double v) => (100 * v).ToString("F2", CultureInfo.InvariantCulture);
}
