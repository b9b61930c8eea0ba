using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// The kernels a device provides. Ops in <c>Frugal.Ops</c> are written against this interface only,
/// so every op runs on every backend. Tensors handed to a kernel are contiguous (with an offset
/// into their storage); outputs are preallocated by the caller and may alias an input for
/// element-wise kernels. The interface is partial: each op family declares its kernels in its own file.
/// </summary>
public partial interface IBackend
{
    Device Device { get; }

    /// <summary>What runs the kernels, for logs: e.g. "cpu: GEMM on OpenBLAS (libopenblas.so.0)", or the GPU and its libraries.</summary>
    string Description { get; }

    /// <summary>A new buffer of <paramref name="length"/> floats, zero-filled.</summary>
    Storage Allocate(int length);

    /// <summary>A new buffer whose contents are unspecified: for outputs a kernel overwrites entirely.</summary>
    Storage AllocateUninitialized(int length);

    /// <summary>
    /// A scope around one training or evaluation step (<c>using var step = device.BeginStep();</c>). When it ends,
    /// the step's dead tensors give their memory back for the next step to reuse: the CPU pools large buffers
    /// (fresh large arrays cost page faults, zeroing and gen-2 collections), a GPU returns blocks to its caching
    /// allocator. Any loop gets the same reuse the Trainer does through this one call; nested scopes are free.
    /// </summary>
    IDisposable BeginStep();

    /// <summary>Gives back the memory kept for reuse by dead tensors (PyTorch's torch.cuda.empty_cache): before a phase
    /// of other sizes, such as the next stage of layer-wise training, which would otherwise add its buffers to them.</summary>
    void EmptyCache() { }

    /// <summary>Waits until all work queued on the device has finished (before reading a clock; a no-op on the CPU).</summary>
    void Synchronize();

    void Upload(ReadOnlySpan<float> source, Storage destination, int offset);
    void Download(Storage source, int offset, Span<float> destination);

    void Fill(Tensor y, float value);

    /// <summary>Copies <paramref name="count"/> blocks of <paramref name="blockLength"/> floats; block i
    /// starts at <c>srcOffset + i·srcStride</c> in src and <c>dstOffset + i·dstStride</c> in dst
    /// (offsets relative to each tensor's start). Slicing, concat and split are built on it.</summary>
    void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int blockLength, int count);

    /// <summary>y = x with axes permuted: y.shape[i] = x.shape[perm[i]].</summary>
    void Permute(Tensor x, int[] perm, Tensor y);

    /// <summary>y = op(x) element-wise; <paramref name="a"/> and <paramref name="b"/> are the op's scalar parameters.</summary>
    void Map(UnaryOp op, Tensor x, Tensor y, float a = 0, float b = 0);

    /// <summary>y = op(a, b) element-wise with NumPy broadcasting; y has the broadcast shape.</summary>
    void Zip(BinaryOp op, Tensor a, Tensor b, Tensor y);

    /// <summary>Views x as [outer, mid, inner] and reduces the middle axis into y = [outer, inner].</summary>
    void Reduce(ReduceOp op, Tensor x, int outer, int mid, int inner, Tensor y);

    /// <summary>Index of the first maximum along the middle axis of x viewed as [outer, mid, inner].</summary>
    int[] ArgMax(Tensor x, int outer, int mid, int inner);

    /// <summary>
    /// Strided batched GEMM, row-major: C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i &lt; batch, where
    /// op(A) is m×k, op(B) is k×n and C is m×n; operand i starts at offset + i·stride (in floats).
    /// </summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
              Tensor a, int offsetA, int lda, int strideA,
              Tensor b, int offsetB, int ldb, int strideB,
              float beta, Tensor c, int offsetC, int ldc, int strideC, int batch = 1);
}

/// <summary>Element-wise maps; the parameters a, b are documented per op.</summary>
public enum UnaryOp
{
    Copy, Neg, Exp, Log, Abs, Sign, Sqrt, Square, Reciprocal,
    Relu, Tanh, Sigmoid, Gelu,
    /// <summary>x &gt; 0 ? x : a·x</summary>
    LeakyRelu,
    /// <summary>a·x + b</summary>
    Affine,
    /// <summary>x^a</summary>
    Pow,
    /// <summary>min(max(x, a), b)</summary>
    Clamp,
    /// <summary>x &gt; a ? 1 : 0</summary>
    GreaterThan,
}

/// <summary>Element-wise binary ops. The *Backward ops take (x or y of the forward, upstream gradient).</summary>
public enum BinaryOp
{
    Add, Sub, Mul, Div, Max, Min,
    /// <summary>(x, g) → x &gt; 0 ? g : 0</summary>
    ReluBackward,
    /// <summary>(y, g) → g·(1 − y²), y = tanh(x)</summary>
    TanhBackward,
    /// <summary>(y, g) → g·y·(1 − y), y = sigmoid(x)</summary>
    SigmoidBackward,
    /// <summary>(x, g) → g·gelu'(x), exact GELU x·Φ(x) as PyTorch's default</summary>
    GeluBackward,
}

public enum ReduceOp { Sum, Max, Min }
