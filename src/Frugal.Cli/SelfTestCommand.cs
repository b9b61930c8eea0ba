using System.CommandLine;
using System.Diagnostics;
using Frugal.Backends.Cuda;
using Frugal.Diagnostics;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>
/// `frugal selftest --device cuda`: every backend kernel against the CPU, gradient checks and a training step per
/// model, without xunit (the GPU machine has no .NET SDK). Prints one line per case and a closing
/// "N passed, N failed" line; exits 1 when anything failed.
/// </summary>
static class SelfTestCommand
{
    public static Command Create()
    {
        var cmd = new Command("selftest", "Check a device's kernels against the CPU backend: op-by-op comparisons, gradient checks, a training step per model");
        var device = new Option<string>("--device") { Description = "Device to test: cuda[:N] (or cpu, which checks the harness)", DefaultValueFactory = _ => "cuda" };
        var filter = new Option<string?>("--filter") { Description = "Only cases whose name contains this text" };
        cmd.Options.Add(device); cmd.Options.Add(filter);
        cmd.SetAction(p =>
        {
            int failed = 0;
            int rc = Cli.Run(() => failed = Run(Device.Parse(p.GetValue(device)!), p.GetValue(filter)));
            return rc != 0 ? rc : failed > 0 ? 1 : 0;
        });
        return cmd;
    }

    static int Run(Device target, string? filter)
    {
        var backend = Backends.BackendRegistry.Get(target);   // a missing driver fails here with its one-line reason
        Console.WriteLine($"selftest: {target} against cpu{(backend is CudaBackend cb ? $" on {cb.Description}" : "")}");
        if (CudaOptions.AllowTf32) Console.WriteLine("selftest: warning: FRUGAL_CUDA_TF32=1, GEMM results differ from FP32 beyond the tolerances");
        var sw = Stopwatch.StartNew();
        var results = BackendSelfTest.Run(target, Device.Cpu, filter, r =>
            Console.WriteLine($"  {(r.Ok ? "ok  " : "FAIL")} {r.Name,-50} max err {r.MaxError:G3}{(r.Ok ? "" : "  " + r.Detail)}"));
        int failed = results.Count(r => !r.Ok);
        if (backend is CudaBackend cuda) Console.WriteLine($"selftest: device memory: {cuda.MemoryStatistics}");
        Console.WriteLine($"selftest: {sw.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine($"{results.Count - failed} passed, {failed} failed");
        return failed;
    }
}
