namespace Frugal.Tests.Cli;

public class PlotCommandTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-plot-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    string Run(string name, params double[] bits)
    {
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        File.WriteAllLines(Path.Combine(folder, "metrics.jsonl"), bits.Select((b, i) =>
            $"{{\"epoch\":{i + 1},\"test_accuracy\":{0.5 + 0.1 * i},\"entropy_report\":{{\"all\":{{\"update_fixed_bits\":{b}}}}}}}"));
        return folder;
    }

    [Fact]
    public void Plots_top_level_and_nested_figures_of_several_runs_as_a_png()
    {
        string a = Run("a", 2.7, 2.3, 2.2), b = Run("b", 3.1, 3.0, 2.9), png = Path.Combine(_dir, "chart.png");
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(1), "plot", a, Path.Combine(b, "metrics.jsonl"),
            "--y", "test_accuracy", "entropy_report.all.update_fixed_bits", "--out", png);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("4 lines", r.Stdout);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
    }

    [Fact]
    public void A_missing_key_run_or_label_count_is_one_line_naming_it()
    {
        string a = Run("a", 2.7), png = Path.Combine(_dir, "x.png");
        var cases = new (string[] Args, string Expect)[]
        {
            (["plot", a, "--y", "entropy_report.all.nope", "--out", png], "'entropy_report.all.nope'"),
            (["plot", Path.Combine(_dir, "missing"), "--y", "test_accuracy", "--out", png], "missing does not exist"),
            (["plot", a, "--y", "test_accuracy", "--labels", "x,y", "--out", png], "--labels: 2 names for 1 runs"),
        };
        foreach (var (args, expect) in cases)
        {
            var r = FrugalProcess.Run(TimeSpan.FromMinutes(1), args);
            Assert.Equal(1, r.ExitCode);
            var line = Assert.Single(r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("frugal: ", line);
            Assert.Contains(expect, line);
        }
        Assert.False(File.Exists(png));
    }
}
