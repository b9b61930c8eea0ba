namespace Frugal.Backends.Cuda;

/// <summary>
/// Process-wide switches of the CUDA backend, from the environment so they also reach `frugal` runs:
/// FRUGAL_CUDA_TF32=1 lets cuBLAS use TF32 tensor cores for FP32 GEMMs (about 9× faster on an H100, 10-bit
/// mantissa products: off by default, results then differ from the CPU beyond float rounding);
/// FRUGAL_CUDA_SYNC=1 synchronises and checks after every launch, so a faulting kernel is named (debugging).
/// </summary>
public static class CudaOptions
{
    public static bool AllowTf32 { get; set; } = Environment.GetEnvironmentVariable("FRUGAL_CUDA_TF32") == "1";
    public static bool SyncEveryLaunch { get; set; } = Environment.GetEnvironmentVariable("FRUGAL_CUDA_SYNC") == "1";
}
