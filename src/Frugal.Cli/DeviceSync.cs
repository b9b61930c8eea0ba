using Frugal.Backends;
using Frugal.Backends.Cuda;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>Benchmark helpers that differ by device: waiting for queued GPU work before reading a clock, and the
/// per-step memory scope on a GPU.</summary>
static class DeviceSync
{
    /// <summary>Waits until the device has finished all queued work (GPU kernels run asynchronously; the CPU is done already).</summary>
    public static void Wait(Device d)
    {
        if (BackendRegistry.Get(d) is CudaBackend c) c.Synchronize();
    }

    /// <summary>The GPU's per-step memory scope (null on the CPU).</summary>
    public static IDisposable? Step(Device d) => (BackendRegistry.Get(d) as CudaBackend)?.BeginStep();
}
