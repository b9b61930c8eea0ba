namespace Frugal.Backends.Cuda;

// Kernel families added to IBackend after the CUDA backend was written land here as NotSupportedException stubs until
// their CUDA versions are ported (none pending).
public sealed partial class CudaBackend
{
}
