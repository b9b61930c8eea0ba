using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Kernel families added to IBackend after the CUDA backend was written; their CUDA versions are being ported.
public sealed partial class CudaBackend
{
    public void QuantizeFloat(Tensor x, Tensor y, int exponentBits, int mantissaBits, bool infNaN, float scale, bool stochastic, ulong seed) =>
        throw new NotSupportedException("quantize_float: no CUDA kernel yet; run low-bit gradients on --device cpu");

    public void Prune(PruneKind kind, Tensor x, Tensor y, float threshold, ulong seed, Tensor? stats) =>
        throw new NotSupportedException("prune: no CUDA kernel yet; run gradient pruning on --device cpu");
}
