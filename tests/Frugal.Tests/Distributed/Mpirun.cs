using System.Diagnostics;
using Frugal.Distributed.Mpi;

namespace Frugal.Tests.Distributed;

/// <summary>
/// Launches a .NET program under Open MPI's mpirun on this machine, as a user's job would run: every rank is
/// `dotnet DLL ARGS`. Shared memory between the ranks (btl self,vader), without the single-copy (CMA) mechanism
/// that containers often forbid, unbound so the ranks' threads may use every core, oversubscribed as CI runs.
/// </summary>
static class Mpirun
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, bool TimedOut, TimeSpan Elapsed)
    {
        /// <summary>Everything the job printed, stdout then stderr.</summary>
        public string Output => Stdout + Stderr;
    }

    /// <summary>Why the MPI tests cannot run here, or null when mpirun is on PATH and libmpi.so.40 loads.</summary>
    public static string? Unavailable { get; } = Probe();

    /// <summary>A built program beside the tests (e.g. "frugal.dll", "Frugal.DistributedWorker.dll").</summary>
    public static string Beside(string dll) => Path.Combine(AppContext.BaseDirectory, dll);

    /// <summary>Runs <paramref name="ranks"/> ranks of `dotnet <paramref name="dll"/> <paramref name="args"/>` to the
    /// end, or kills the whole process tree after <paramref name="guard"/> (a hang is reported, not waited for).</summary>
    public static Result Run(int ranks, TimeSpan guard, string dll, params string[] args)
    {
        var psi = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", ranks.ToString(),
                                  "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none", "dotnet", dll })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["FRUGAL_NO_INSTALL"] = "1";
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        bool done = p.WaitForExit(guard);
        if (!done) p.Kill(entireProcessTree: true);
        p.WaitForExit();
        return new Result(done ? p.ExitCode : -1, stdout.Result, stderr.Result, !done, clock.Elapsed);
    }

    static string? Probe()
    {
        const string install = "Open MPI is not installed (tools/setup.sh test installs openmpi-bin libopenmpi-dev)";
        bool onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "mpirun")));
        return onPath && MpiLibrary.TryLoad(out _) ? null : install;
    }
}
