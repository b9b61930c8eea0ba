using Frugal.Tests.Cli;
using Frugal.Tests.Training;
using Xunit;
using Xunit.Abstractions;

namespace Frugal.Tests.ClosedForm;

/// <summary>`frugal fit-closed-form` end to end on a toy problem and on tiny synthetic images, and its bad input.</summary>
public class ClosedFormCommandTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-closedform-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    [Fact]
    public void Sweeps_widths_and_lambdas_against_sgd_and_writes_csv_chart_and_model()
    {
        var outDir = Path.Combine(_dir, "xor");
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(3), "fit-closed-form", "--data", "xor", "--widths", "8,32", "--lambdas", "1e-4,1e-1",
            "--rounds", "1", "--compare-sgd", "2", "--train-limit", "200", "--test-limit", "200", "--out", outDir);
        output.WriteLine(r.Stdout + r.Stderr);
        Assert.False(r.TimedOut);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("| SGD, 2 epochs | 32 |", r.Stdout);
        var rows = File.ReadAllLines(Path.Combine(outDir, "closed_form.csv")).Skip(1).ToList();
        Assert.Equal(4, rows.Count(l => l.Contains(",closed_form,")));
        Assert.Equal(2, rows.Count(l => l.Contains(",sgd,")));
        Assert.True(new FileInfo(Path.Combine(outDir, "closed_form.png")).Length > 1000);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
    }

    [Fact]
    public void A_fashion_fit_is_a_checkpoint_that_frugal_eval_takes()
    {
        var data = Path.Combine(_dir, "data");
        SyntheticImages.WriteIdxFolder(data, SyntheticImages.Make(200, 10, 1), SyntheticImages.Make(100, 10, 2));
        var outDir = Path.Combine(_dir, "fashion");
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(3), "fit-closed-form", "--data", "fashion", "--data-dir", data, "--width", "16", "--out", outDir);
        output.WriteLine(r.Stdout + r.Stderr);
        Assert.Equal(0, r.ExitCode);
        var eval = FrugalProcess.Run(TimeSpan.FromMinutes(2), "eval", "--checkpoint", Path.Combine(outDir, "model.safetensors"), "--data-dir", data);
        output.WriteLine(eval.Stdout + eval.Stderr);
        Assert.Equal(0, eval.ExitCode);
        Assert.Contains("test accuracy", eval.Stdout);
    }

    [Theory]
    [InlineData("--data", "moons")]
    [InlineData("--widths", "8,0")]
    [InlineData("--lambda", "-1")]
    [InlineData("--rounds", "-1")]
    [InlineData("--activation", "relu")]
    [InlineData("--hidden-targets", "nearest")]
    [InlineData("--clip-margin", "0.7")]
    [InlineData("--compare-sgd", "-2")]
    public void Bad_input_is_one_line_naming_the_flag(string flag, string value)
    {
        var args = flag == "--data" ? new[] { "fit-closed-form", flag, value } : ["fit-closed-form", "--data", "xor", flag, value];
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(1), args);
        output.WriteLine(r.Stderr);
        Assert.NotEqual(0, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith($"frugal: {flag}", lines[0]);
    }
}
