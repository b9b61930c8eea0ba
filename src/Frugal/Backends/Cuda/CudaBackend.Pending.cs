using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Kernel families added to IBackend after the CUDA backend was written; their CUDA versions are being ported.
public sealed partial class CudaBackend
{
    public void QuantizeFloat(Tensor x, Tensor y, int exponentBits, int mantissaBits, bool infNaN, float scale, bool stochastic, ulong seed) =>
        throw new NotSupportedException("quantize_float: no CUDA kernel yet; run low-bit gradients on --device cpu");
}
