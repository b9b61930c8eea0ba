namespace Frugal.Tests.Cli;

/// <summary>The CLI's top level: expected failures are one line and exit 1; anything else is reported as a bug, with
/// its full trace written to a file, never printed.</summary>
[Collection(Training.DefaultGeneratorCollection.Name)]   // swaps Console.Error: not beside other tests
public class TopLevelTests
{
    static (int Code, string Stderr) Run(Action body)
    {
        var previous = Console.Error;
        var captured = new StringWriter();
        Console.SetError(captured);
        try { return (global::Frugal.Cli.Cli.Run(body), captured.ToString()); }
        finally { Console.SetError(previous); }
    }

    [Fact]
    public void Expected_failures_are_one_line_and_exit_one()
    {
        foreach (var e in new Exception[]
        {
            new IOException("/run/x: could not be written (No space left on device); the previous file is intact"),
            new InvalidDataException("data.idx: bad magic"), new Frugal.Options.OptionException("approx.keep", "must be in (0, 1], got 2"),
            new UnauthorizedAccessException("/root/x: access denied"), new FileNotFoundException("--config: a.json does not exist"),
        })
        {
            var (code, err) = Run(() => throw e);
            Assert.Equal(1, code);
            Assert.Single(err.TrimEnd().Split('\n'));
            Assert.StartsWith("frugal: ", err);
            Assert.DoesNotContain(" at ", err);
        }
        Assert.Contains("frugal: --keep: must be in (0, 1], got 2", Run(() => throw new Frugal.Options.OptionException("approx.keep", "must be in (0, 1], got 2")).Stderr);
    }

    [Fact]
    public void An_unexpected_failure_says_it_is_a_bug_and_where_the_trace_is()
    {
        static void Deep() => throw new NullReferenceException("something was null");
        var (code, err) = Run(Deep);
        Assert.Equal(70, code);
        Assert.Single(err.TrimEnd().Split('\n'));
        Assert.Contains("internal error, a bug in frugal (NullReferenceException: something was null)", err);
        var trace = System.Text.RegularExpressions.Regex.Match(err, @"the full trace is in (\S+);").Groups[1].Value;
        Assert.True(File.Exists(trace), err);
        Assert.Contains(nameof(Deep), File.ReadAllText(trace));          // the stack is in the file, not on the terminal
        File.Delete(trace);
    }
}
