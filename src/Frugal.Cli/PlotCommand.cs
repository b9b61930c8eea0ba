using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Frugal.Cli;

/// <summary>
/// `frugal plot`: figures of metrics.jsonl files against the epoch as a PNG line chart, one line per run and key. A key
/// is a metrics field or a dotted path into a method's figures (entropy_report.all.update_fixed_bits), so every
/// experiment's curves can be looked at rather than read.
/// </summary>
static class PlotCommand
{
    public static Command Create()
    {
        var plot = new Command("plot", "Chart metrics.jsonl figures against the epoch: one line per run and key, written as a PNG");
        var runs = new Argument<string[]>("runs") { Description = "Run folders (their metrics.jsonl) or metrics.jsonl files", Arity = ArgumentArity.OneOrMore };
        var keys = new Option<string[]>("--y") { Description = "Figures to plot: metrics keys or dotted paths into a method's figures (e.g. test_accuracy, entropy_report.all.update_fixed_bits)", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out") { Description = "PNG file to write", Required = true };
        var title = new Option<string?>("--title") { Description = "Chart title (default: the keys)" };
        var labels = new Option<string?>("--labels") { Description = "Comma-separated names of the runs, in order (default: their folder names)" };
        var yLabel = new Option<string?>("--ylabel") { Description = "The y axis' label (default: the key, when there is one)" };
        plot.Arguments.Add(runs);
        plot.Options.Add(keys); plot.Options.Add(output); plot.Options.Add(title); plot.Options.Add(labels); plot.Options.Add(yLabel);
        plot.SetAction(p => Cli.Run(() =>
        {
            var inputs = p.GetValue(runs)!;
            var names = p.GetValue(labels)?.Split(',', StringSplitOptions.TrimEntries) ?? inputs.Select(Name).ToArray();
            if (names.Length != inputs.Length)
                throw new ArgumentException($"--labels: {names.Length} names for {inputs.Length} runs; give one per run");
            var ys = p.GetValue(keys)!;
            var series = new List<(string Label, double[] X, double[] Y)>();
            for (int r = 0; r < inputs.Length; r++)
                foreach (var key in ys)
                {
                    var (x, y) = Read(MetricsFile(inputs[r]), key);
                    // A key's last part names its line; the run's name comes first when there are several runs.
                    string what = key[(key.LastIndexOf('.') + 1)..];
                    series.Add((ys.Length == 1 ? names[r] : inputs.Length == 1 ? what : $"{names[r]}: {what}", x, y));
                }
            var png = Render(series, p.GetValue(title) ?? string.Join(", ", ys), p.GetValue(yLabel) ?? (ys.Length == 1 ? ys[0] : "value"));
            IO.AtomicFile.Write(p.GetValue(output)!, f => f.Write(png));
            Console.WriteLine($"wrote {p.GetValue(output)} ({series.Count} lines)");
        }));
        return plot;
    }

    static string Name(string input) =>
        Path.GetFileName(Path.GetFileName(input) == "metrics.jsonl" ? Path.GetDirectoryName(Path.GetFullPath(input))! : input.TrimEnd('/'));

    static string MetricsFile(string input)
    {
        var file = Directory.Exists(input) ? Path.Combine(input, "metrics.jsonl") : input;
        if (!File.Exists(file)) throw new FileNotFoundException($"plot: {file} does not exist; give a run folder or its metrics.jsonl");
        return file;
    }

    /// <summary>(epoch, value) of every line of <paramref name="file"/> that has <paramref name="key"/>.</summary>
    static (double[] X, double[] Y) Read(string file, string key)
    {
        var x = new List<double>();
        var y = new List<double>();
        int line = 0;
        foreach (var text in IO.RegularFile.ReadAllText(file, "plot").Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            line++;
            JsonElement root;
            try { root = JsonDocument.Parse(text).RootElement; }
            catch (JsonException e) { throw new InvalidDataException($"plot: {file} line {line} is not JSON ({e.Message})"); }
            var value = root;
            foreach (var part in key.Split('.'))
                if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(part, out value)) { value = default; break; }
            if (value.ValueKind != JsonValueKind.Number) continue;
            x.Add(root.TryGetProperty("epoch", out var epoch) && epoch.ValueKind == JsonValueKind.Number ? epoch.GetDouble() : line);
            y.Add(value.GetDouble());
        }
        if (y.Count == 0)
            throw new ArgumentException($"--y: no line of {file} has a number at '{key}' (its keys: {Keys(file)})");
        return (x.ToArray(), y.ToArray());
    }

    static string Keys(string file)
    {
        var first = IO.RegularFile.ReadAllText(file, "plot").Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        if (first == null) return "none, the file is empty";
        try { return string.Join(", ", JsonDocument.Parse(first).RootElement.EnumerateObject().Select(p => p.Name)); }
        catch (JsonException) { return "unreadable"; }
    }

    static byte[] Render(List<(string Label, double[] X, double[] Y)> series, string title, string yLabel)
    {
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < series.Count; i++)
        {
            var s = plot.Add.Scatter(series[i].X, series[i].Y, palette.GetColor(i));
            s.LegendText = series[i].Label;
            s.MarkerSize = 6;
        }
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        plot.Title(title);
        plot.ShowLegend(ScottPlot.Edge.Right);
        return plot.GetImageBytes(900, 560, ScottPlot.ImageFormat.Png);
    }
}
