using System.Diagnostics;

namespace Frugal.Tests.Cli;

/// <summary>Runs the real frugal executable (built beside the tests) as a user would, never installing anything.</summary>
static class FrugalProcess
{
    static readonly string Dll = Path.Combine(AppContext.BaseDirectory, "frugal.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr, bool TimedOut);

    public static Process Start(params string[] args) => Start(new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Start(string[])"/>, with these environment variables set for the process.</summary>
    public static Process Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["FRUGAL_NO_INSTALL"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    /// <summary>Runs to the end, or kills it after <paramref name="timeout"/> (a hang is then reported, not waited for).</summary>
    public static Result Run(TimeSpan timeout, params string[] args) => Run(timeout, new Dictionary<string, string>(), args);

    /// <summary>As <see cref="Run(TimeSpan, string[])"/>, with these environment variables set for the process.</summary>
    public static Result Run(TimeSpan timeout, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var p = Start(environment, args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        bool done = p.WaitForExit(timeout);
        if (!done) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        return new Result(done ? p.ExitCode : -1, stdout.Result, stderr.Result, !done);
    }
}
