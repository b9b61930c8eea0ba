using Frugal.Backends.Cpu;
using Frugal.Backends.Cuda.Kernels;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Low-bit float quantisation on the GPU (IBackend.Quantize.cs, METHODS.md §1): the CPU's checks and per-call constants
// (FloatRounding.Spec), the same steps in Kernels/CompressionKernels.cs, so the bits equal the CPU's.
public sealed partial class CudaBackend
{
    public void QuantizeFloat(Tensor x, Tensor y, int exponentBits, int mantissaBits, bool infNaN, float scale, bool stochastic, ulong seed)
    {
        CpuBackend.CheckQuantize(x, y);
        var s = new FloatRounding.Spec(exponentBits, mantissaBits, infNaN, scale, stochastic, seed);
        int n = x.Numel;
        Launch(CompressionKernels.Module, "fr_quantize_float", LaunchShape.ForElements(n), P(x), P(y), n, s.MantissaBits, s.MinBiased,
            Flag(s.InfNaN), s.Scale, s.MaxFinite, Flag(s.Stochastic), KernelArg.Int(unchecked((int)s.Key)),
            Flag(exponentBits == FloatRounding.MaxExponentBits));
    }
}
