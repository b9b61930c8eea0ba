using Frugal.Cli;

namespace Frugal.Tests.Distributed.Stragglers;

/// <summary>`frugal simulate dropcompute`, run in process: the table, simulate.csv and simulate.png; bad flags are one
/// line naming the flag and exit 2.</summary>
[Collection(nameof(SimulateCommandTests))]
public class SimulateCommandTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-simulate-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (o, e) = (Console.Out, Console.Error);
        var (so, se) = (new StringWriter(), new StringWriter());
        Console.SetOut(so);
        Console.SetError(se);
        try { return (SimulateCommand.Run(args), so.ToString(), se.ToString()); }
        finally { Console.SetOut(o); Console.SetError(e); }
    }

    [Fact]
    public void Writes_the_table_the_csv_and_the_chart()
    {
        var (code, output, err) = Run("dropcompute", "--workers", "1,16", "--steps", "30", "--straggler-delay", "1", "--out", _dir);
        Assert.True(code == 0, err);
        Assert.Contains("| 16 |", output);
        var csv = File.ReadAllLines(Path.Combine(_dir, "simulate.csv"));
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("workers,", csv[0]);
        Assert.StartsWith("16,", csv[2]);
        var png = File.ReadAllBytes(Path.Combine(_dir, "simulate.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
    }

    [Theory]
    [InlineData("--workers", "0", "--workers")]
    [InlineData("--workers", "4,x", "--workers")]
    [InlineData("--threshold", "soon", "--threshold")]
    [InlineData("--micro-batches", "4", "--micro-batches")]
    [InlineData("--mean-ms", "-5", "--mean-ms")]
    [InlineData("--cv", "-1", "--cv")]
    [InlineData("--steps", "many", "--steps")]
    [InlineData("--bogus", "1", "--bogus")]
    public void Bad_flags_are_one_line_naming_the_flag(string flag, string value, string expect)
    {
        var (code, _, err) = Run("dropcompute", flag, value);
        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("frugal: ", line);
        Assert.Contains(expect, line);
    }
}
