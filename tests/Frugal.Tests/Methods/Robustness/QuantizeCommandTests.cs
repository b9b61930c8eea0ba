using Frugal.Models;
using Frugal.Runs;
using Frugal.Tests.Cli;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.Robustness;

/// <summary>`frugal quantize` through the real executable, on a tiny cnn trained on synthetic images.</summary>
public class QuantizeCommandTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-quantize-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void Sweeps_two_checkpoints_side_by_side_and_writes_csv_and_charts()
    {
        var train = SyntheticImages.Make(256, 4, 1);
        var test = SyntheticImages.Make(96, 4, 2);
        var data = SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), train, test);
        var o = new TrainOptions { Model = "cnn", ModelOptions = new ModelOptions(Width: 4), Epochs = 1, BatchSize = 32, Seed = 1, Out = Path.Combine(_dir, "plain") };
        Recipe.Fit(o, train, test);
        Recipe.Fit(o with { Out = Path.Combine(_dir, "kure"), Kure = new() }, train, test);
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(3), "quantize", "--checkpoint", Path.Combine(_dir, "plain", "model.safetensors"),
            "--compare", Path.Combine(_dir, "kure", "model.safetensors"), "--data-dir", data, "--weight-bits", "8,2", "--act-bits", "4",
            "--perturb", "0.8:1.2:3", "--pow2", "--out", Path.Combine(_dir, "q"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("| point | plain | drop | kure | drop |", r.Stdout);
        foreach (var row in new[] { "| fp32 |", "| W8 |", "| W2 |", "| W4A4 |", "| W2 pow2 |", "| W4 r=0.8 |", "| W4 r=1.2 |" }) Assert.Contains(row, r.Stdout);
        var csv = File.ReadAllLines(Path.Combine(_dir, "q", "quantize.csv"));
        Assert.Equal(1 + 2 * 9, csv.Length);   // fp32, W8, W2, W4A4, two pow2, three perturbations
        Assert.All(new[] { "quantize-bits.png", "quantize-perturb.png" }, f => Assert.True(new FileInfo(Path.Combine(_dir, "q", f)).Length > 1000));
    }

    [Fact]
    public void Bad_input_is_one_line_naming_the_flag_or_file()
    {
        foreach (var (args, expect) in new (string[], string)[]
        {
            (["quantize", "--checkpoint", Path.Combine(_dir, "none.safetensors")], "none.safetensors"),
            (["quantize", "--checkpoint", "x", "--weight-bits", "1"], "--weight-bits"),
            (["quantize", "--checkpoint", "x", "--perturb", "1.3:0.7:5"], "--perturb"),
            (["quantize", "--checkpoint", "x", "--test-limit", "-1"], "--test-limit"),
        })
        {
            var r = FrugalProcess.Run(TimeSpan.FromMinutes(1), args);
            Assert.Equal(1, r.ExitCode);
            var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(lines.Length == 1 && lines[0].StartsWith("frugal: ") && lines[0].Contains(expect), $"{string.Join(' ', args)}: {r.Stderr}");
        }
    }
}
