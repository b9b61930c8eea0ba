using System.CommandLine;
using System.Globalization;
using System.Text;
using Frugal.Distributed.Stragglers;
using Frugal.Options;

namespace Frugal.Cli;

/// <summary>
/// `frugal simulate dropcompute`: DropCompute beyond one machine on a virtual clock (<see cref="VirtualClockSimulation"/>,
/// ../shared/METHODS.md §3). Per N: the synchronous step time next to the paper's E[max], the step time with τ, the drop
/// rate and the effective speed-up next to S_eff(τ); a markdown table on stdout, simulate.csv and simulate.png in --out.
/// </summary>
static class SimulateCommand
{
    static readonly int[] DefaultWorkers = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    public static Command Create()
    {
        var simulate = new Command("simulate", "Simulations of distributed training on a virtual clock");
        var drop = new Command("dropcompute", "Step time vs N workers, synchronous and with DropCompute's threshold, against the paper's E[max] and S_eff(τ)");
        var workers = new Option<string[]>("--workers") { Description = "Worker counts, comma-separated (1..65536)", DefaultValueFactory = _ => [string.Join(",", DefaultWorkers)], AllowMultipleArgumentsPerToken = true };
        var micro = new Option<int>("--micro-batches") { Description = "Micro-batches accumulated per step (M; ≥ 6 for --threshold auto)", DefaultValueFactory = _ => 12 };
        var meanMs = new Option<double>("--mean-ms") { Description = "Mean compute time of a micro-batch, ms", DefaultValueFactory = _ => 50 };
        var cv = new Option<double>("--cv") { Description = "Coefficient of variation (σ/μ) of a micro-batch's compute time", DefaultValueFactory = _ => 0.2 };
        var latencies = new Option<FileInfo?>("--latencies") { Description = "Replay measured micro-batch times instead (ms, separated by commas, spaces or lines); overrides --mean-ms and --cv" };
        var delay = new Option<double>("--straggler-delay") { Description = "Straggler factor F: after each micro-batch of time t sleep X·t·0.5·F, X log-normal with mean 1 (0: none)", DefaultValueFactory = _ => 0 };
        var threshold = new Option<string>("--threshold") { Description = "τ in seconds, or auto (chosen from simulated calibration steps)", DefaultValueFactory = _ => "auto" };
        var calibration = new Option<int>("--calibration-steps") { Description = "Calibration steps of --threshold auto", DefaultValueFactory = _ => 44 };
        var commMs = new Option<double>("--comm-ms") { Description = "Communication time per step after the slowest worker, ms", DefaultValueFactory = _ => 0 };
        var steps = new Option<int>("--steps") { Description = "Simulated steps per N", DefaultValueFactory = _ => 200 };
        var seed = new Option<ulong>("--seed") { Description = "Seed of every draw", DefaultValueFactory = _ => 0 };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Folder for simulate.csv and simulate.png" };
        foreach (var o in new Option[] { workers, micro, meanMs, cv, latencies, delay, threshold, calibration, commMs, steps, seed, output }) drop.Options.Add(o);
        drop.SetAction(p =>
        {
            int usage = 0;
            int rc = Cli.Run(() =>
            {
                VirtualClockSettings settings;
                int[] counts;
                try
                {
                    counts = ParseWorkers(p.GetValue(workers)!);
                    OptionException.Require(p.GetValue(meanMs) > 0 && double.IsFinite(p.GetValue(meanMs)), "mean_seconds", $"must be a positive number of ms, got {p.GetValue(meanMs)}");
                    OptionException.Require(p.GetValue(commMs) >= 0 && double.IsFinite(p.GetValue(commMs)), "comm_seconds", $"must be a number of ms ≥ 0, got {p.GetValue(commMs)}");
                    settings = new VirtualClockSettings
                    {
                        MicroBatches = p.GetValue(micro), Steps = p.GetValue(steps), MeanSeconds = p.GetValue(meanMs) / 1000, Cv = p.GetValue(cv),
                        MeasuredLatencies = p.GetValue(latencies) is { } file ? ReadLatencies(file) : null,
                        StragglerDelay = p.GetValue(delay), Threshold = ParseThreshold(p.GetValue(threshold)!),
                        CalibrationSteps = p.GetValue(calibration), CommSeconds = p.GetValue(commMs) / 1000, Seed = p.GetValue(seed),
                    }.Validate();
                }
                catch (OptionException e)
                {
                    // A bad flag value is a usage error, like a flag that does not parse.
                    Console.Error.WriteLine($"frugal: {FlagFor(e.Key)}: {e.Reason}");
                    usage = 2;
                    return;
                }
                Simulate(settings, counts, p.GetValue(output)?.FullName);
            });
            return usage != 0 ? usage : rc;
        });
        simulate.Subcommands.Add(drop);
        return simulate;
    }

    /// <summary>`frugal simulate ARGS`, parsed on its own: usage errors are one line and exit 2.</summary>
    public static int Run(string[] args)
    {
        var root = new RootCommand("frugal") { Create() };
        var parsed = root.Parse(["simulate", .. args]);
        if (parsed.Errors.Count > 0 && !args.Contains("--help") && !args.Contains("-h")) return Cli.UsageError(parsed);
        return parsed.Invoke();
    }

    static void Simulate(VirtualClockSettings settings, int[] counts, string? outDir)
    {
        var results = counts.Select(n => VirtualClockSimulation.Run(settings with { Workers = n })).ToList();
        var first = results[0];
        Console.WriteLine($"DropCompute on a virtual clock: M = {settings.MicroBatches}, micro-batch {Ms(first.LatencyMean)} ± {Ms(first.LatencyStd)} ms " +
                          $"(straggler delay {settings.StragglerDelay.ToString(CultureInfo.InvariantCulture)} included), T_comm {Ms(settings.CommSeconds)} ms, " +
                          $"{settings.Steps} steps, τ {(settings.Threshold is { } t ? $"{Ms(t)} ms" : $"auto from {settings.CalibrationSteps} calibration steps")}, seed {settings.Seed}");
        Console.WriteLine();
        Console.WriteLine("| N | step ms sync | E[max] theory ms | τ ms | step ms DropCompute | theory ms | drop rate | theory | S_eff measured | S_eff theory |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            Console.WriteLine($"| {r.Workers} | {Ms(r.SyncStepSeconds)} | {Ms(r.TheoryExpectedMax)} | {Ms(r.Threshold)} | {Ms(r.DropStepSeconds)} | {Ms(r.TheoryDropStepSeconds)} | " +
                              $"{Pct(r.DropRate)} | {Pct(r.TheoryDropRate)} | {F3(r.Speedup)} | {F3(r.TheorySpeedup)} |");
        if (outDir == null) return;
        Directory.CreateDirectory(outDir);
        var csv = Path.Combine(outDir, "simulate.csv");
        IO.AtomicFile.WriteAllText(csv, Csv(results));
        var png = Path.Combine(outDir, "simulate.png");
        var bytes = Chart(results, settings);
        IO.AtomicFile.Write(png, s => s.Write(bytes));
        Console.WriteLine();
        Console.WriteLine($"wrote {csv} and {png}");
    }

    static string Csv(IEnumerable<VirtualClockResult> results)
    {
        var b = new StringBuilder("workers,latency_mean_ms,latency_std_ms,sync_step_ms,theory_expected_max_ms,threshold_ms,drop_step_ms,theory_drop_step_ms," +
                                  "drop_rate,theory_drop_rate,speedup,theory_speedup,calibration_predicted_speedup\n");
        foreach (var r in results)
            b.AppendLine(string.Join(",", new[] { r.LatencyMean, r.LatencyStd, r.SyncStepSeconds, r.TheoryExpectedMax, r.Threshold, r.DropStepSeconds, r.TheoryDropStepSeconds }
                .Select(v => (v * 1000).ToString("R", CultureInfo.InvariantCulture))
                .Prepend(r.Workers.ToString(CultureInfo.InvariantCulture))
                .Concat(new[] { r.DropRate, r.TheoryDropRate, r.Speedup, r.TheorySpeedup }.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))
                .Append(r.Calibration is { } c ? (1 + c.Score).ToString("R", CultureInfo.InvariantCulture) : "")));
        return b.ToString();
    }

    /// <summary>Step time against N (log scale): measured points, theory lines; synchronous and with τ.</summary>
    static byte[] Chart(IReadOnlyList<VirtualClockResult> results, VirtualClockSettings settings)
    {
        var plot = new ScottPlot.Plot();
        double[] x = results.Select(r => Math.Log2(r.Workers)).ToArray();
        void Series(Func<VirtualClockResult, double> y, string label, ScottPlot.Color color, bool theory)
        {
            var s = plot.Add.Scatter(x, results.Select(r => 1000 * y(r)).ToArray(), color);
            s.LegendText = label;
            if (theory) { s.LinePattern = ScottPlot.LinePattern.Dashed; s.LineWidth = 2; s.MarkerSize = 0; }
            else { s.LineWidth = 0; s.MarkerSize = 8; }
        }
        var sync = ScottPlot.Color.FromHex("#1f77b4");
        var drop = ScottPlot.Color.FromHex("#d62728");
        Series(r => r.SyncStepSeconds, "synchronous (simulated)", sync, theory: false);
        Series(r => r.TheoryExpectedMax, "E[max] + T_comm (theory)", sync, theory: true);
        Series(r => r.DropStepSeconds, "DropCompute (simulated)", drop, theory: false);
        Series(r => r.TheoryDropStepSeconds, "E[min(max, τ)] + T_comm (theory)", drop, theory: true);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(x, results.Select(r => r.Workers.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.XLabel("workers N");
        plot.YLabel("step time, ms");
        plot.Title($"DropCompute, virtual clock: M = {settings.MicroBatches}, straggler delay {settings.StragglerDelay.ToString(CultureInfo.InvariantCulture)}, " +
                   $"τ {(settings.Threshold == null ? "auto" : "fixed")}");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        return plot.GetImageBytes(900, 560, ScottPlot.ImageFormat.Png);
    }

    static int[] ParseWorkers(string[] values)
    {
        var counts = new List<int>();
        foreach (var part in values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            OptionException.Require(int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= 65536,
                "workers", $"'{part}' is not a worker count in 1..65536 (give e.g. 1,4,16,64)");
            counts.Add(n);
        }
        OptionException.Require(counts.Count > 0, "workers", "names no worker count (give e.g. 1,4,16,64)");
        return counts.ToArray();
    }

    static double? ParseThreshold(string text)
    {
        if (text == "auto") return null;
        OptionException.Require(double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && t > 0 && double.IsFinite(t),
            "threshold", $"'{text}' is neither auto nor a positive number of seconds");
        return t;
    }

    static double[] ReadLatencies(FileInfo file)
    {
        var text = IO.RegularFile.ReadAllText(file.FullName, "--latencies");
        var values = new List<double>();
        foreach (var word in text.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            OptionException.Require(double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) && ms >= 0 && double.IsFinite(ms),
                "latencies", $"{file.FullName}: '{word}' is not a time in ms ≥ 0");
            values.Add(ms / 1000);
        }
        OptionException.Require(values.Count > 0, "latencies", $"{file.FullName}: holds no time");
        return values.ToArray();
    }

    /// <summary>The flag of a <see cref="VirtualClockSettings"/> key (the CLI takes ms where the library takes seconds,
    /// and checks those flags in ms before converting).</summary>
    static string FlagFor(string key) => key switch
    {
        "mean_seconds" => "--mean-ms",
        "comm_seconds" => "--comm-ms",
        _ => "--" + key.Replace('_', '-'),
    };

    static string Ms(double seconds) => (1000 * seconds).ToString("F1", CultureInfo.InvariantCulture);
    static string Pct(double share) => (100 * share).ToString("F1", CultureInfo.InvariantCulture) + "%";
    static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
}
