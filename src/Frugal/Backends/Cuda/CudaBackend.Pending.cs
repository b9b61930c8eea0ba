using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Kernel families not yet ported to CUDA. The sparse backward (IBackend.Sparse.cs) is taken only on the CPU, where its
// break-even densities were measured (Ops/SparseBackward.cs); on a GPU the dense cuBLAS path runs.
public sealed partial class CudaBackend
{
    public long CountNonZero(Tensor x, int every = 1) => throw NotPorted("count_nonzero");

    public void SparseGemm(bool transS, int m, int n, int k, Tensor s, Tensor b, Tensor c, bool accumulate) => throw NotPorted("sparse_gemm");

    public void SparseConv2dBackward(Tensor gy, Tensor x, Tensor w, Window2d window, Tensor? dx, Tensor? dw) => throw NotPorted("sparse_conv2d_backward");

    static NotSupportedException NotPorted(string kernel) =>
        new($"{kernel}: no CUDA kernel yet (the sparse backward runs on the CPU only; docs/GPU.md)");
}
