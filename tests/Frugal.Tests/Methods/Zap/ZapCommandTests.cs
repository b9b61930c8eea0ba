using Frugal.Checkpoints;
using Frugal.Models;
using Frugal.Tests.Cli;
using Frugal.Tests.Training;
using Xunit;
using Xunit.Abstractions;

namespace Frugal.Tests.Methods.Zap;

/// <summary>`frugal zap` end to end on a tiny synthetic checkpoint, and its bad input.</summary>
public class ZapCommandTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-zap-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    string Checkpoint()
    {
        var run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(run);
        var model = ModelZoo.Build("cnn", new ModelOptions(Width: 4), seed: 1);
        var path = Path.Combine(run, "model.safetensors");
        SafeTensors.Save(path, model.StateDict(), isInt64: k => k.EndsWith("num_batches_tracked"));
        File.WriteAllText(Path.Combine(run, "config.json"), """{"model": "cnn", "model_options": {"width": 4}}""");
        SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), SyntheticImages.Make(256, 10, 1), SyntheticImages.Make(128, 10, 2));
        return path;
    }

    [Fact]
    public void Zap_trains_sweeps_and_writes_csv_and_chart()
    {
        var ckpt = Checkpoint();
        var outDir = Path.Combine(_dir, "zap");
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(3), "zap", "--checkpoint", ckpt, "--data-dir", Path.Combine(_dir, "data"), "--pattern", "50,75",
            "--epochs", "1", "--thresholds", "0,0.5", "--budget", "0.1", "--calibration-batches", "2", "--recalibrate-bn", "--recalibration-batches", "1",
            "--timing-batches", "1", "--out", outDir);
        output.WriteLine(r.Stdout + r.Stderr);
        Assert.False(r.TimedOut);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("MACs saved (net)", r.Stdout);
        Assert.Contains("whole inference", r.Stdout);
        var rows = File.ReadAllLines(Path.Combine(outDir, "zap.csv")).Skip(1).Where(l => !l.Contains("timing:")).ToList();
        Assert.Equal(2 * 3 * 2, rows.Count);   // 2 patterns × (2 uniform + 1 per-layer) × (plain, bn)
        // Some operating point saved MACs at the measured masks (the method is on).
        Assert.Contains(rows, l => double.Parse(l.Split(',')[6], System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(new FileInfo(Path.Combine(outDir, "zap.png")).Length > 1000);
    }

    [Theory]
    [InlineData("--pattern", "13")]
    [InlineData("--thresholds", "0,x")]
    [InlineData("--layers", "3")]
    [InlineData("--threshold", "sideways")]
    public void Bad_input_is_one_line_naming_the_flag(string flag, string value)
    {
        var ckpt = Checkpoint();
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(2), "zap", "--checkpoint", ckpt, "--data-dir", Path.Combine(_dir, "data"), "--epochs", "1",
            "--timing-batches", "0", flag, value);
        output.WriteLine(r.Stderr);
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"frugal: {flag}", lines[0]);
    }

    [Fact]
    public void A_missing_checkpoint_is_one_line_naming_the_file()
    {
        var missing = Path.Combine(_dir, "nope.safetensors");
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(1), "zap", "--checkpoint", missing);
        Assert.Equal(1, r.ExitCode);
        Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(missing, r.Stderr);
    }
}
