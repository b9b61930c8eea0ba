using Frugal.Backends.Cuda;

namespace Frugal.Tests;

/// <summary>
/// A test that needs a CUDA device (a GPU, or the CPU emulator of tools/cuda-emu): skipped, with the driver probe's
/// one-line reason, where there is none. (Op tests need no attribute: they take their devices from TestDevices.All.)
/// </summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!CudaBackend.IsAvailable(0, out var reason)) Skip = reason;
    }
}
