using System.Runtime.InteropServices;
using Frugal.Backends.Cpu;
using Frugal.Backends.Cuda.Kernels;
using Frugal.Backends.Cuda.Memory;
using Frugal.Backends.Cuda.Native;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

/// <summary>
/// The CUDA backend: GEMMs on cuBLAS (row-major through the operand swap, FP32 math unless TF32 is allowed), every
/// other kernel NVRTC-compiled from the CUDA C sources in Kernels/ (compiled once per process on first use), memory
/// from a caching allocator, all work on one stream. Each kernel mirrors the CPU backend's semantics and documents
/// where its summation order differs. Partial: op families add their kernels in files of their own.
/// </summary>
public sealed partial class CudaBackend : IBackend
{
    readonly CudaDevice _dev;
    public Device Device { get; }

    CudaBackend(CudaDevice dev)
    {
        _dev = dev;
        Device = Device.Cuda(dev.Ordinal);
    }

    static readonly Dictionary<int, string> _failures = [];

    /// <summary>
    /// The backend of GPU <paramref name="ordinal"/> (the <see cref="BackendRegistry"/> factory). Throws
    /// <see cref="NotSupportedException"/> with a one-line reason when there is no driver, no GPU or no toolkit;
    /// the failure is remembered, so probing again costs nothing.
    /// </summary>
    public static IBackend Create(int ordinal)
    {
        lock (_failures)
        {
            if (_failures.TryGetValue(ordinal, out var why)) throw new NotSupportedException(why);
            try { return new CudaBackend(CudaDevice.Open(ordinal)); }
            catch (Exception e) when (e is NotSupportedException or CudaException or DllNotFoundException or EntryPointNotFoundException)
            {
                var msg = e is NotSupportedException ? e.Message : $"cuda:{ordinal}: {e.Message}";
                _failures[ordinal] = msg;
                throw new NotSupportedException(msg, e);
            }
        }
    }

    /// <summary>Whether GPU <paramref name="ordinal"/> can be used, and if not, why (never throws).</summary>
    public static bool IsAvailable(int ordinal, out string reason)
    {
        try
        {
            var b = BackendRegistry.Get(Device.Cuda(ordinal));
            reason = ((CudaBackend)b).Description;
            return true;
        }
        catch (NotSupportedException e) { reason = e.Message; return false; }
    }

    /// <summary>GPU name, compute capability, memory, kernel architecture, and the libraries loaded.</summary>
    public string Description => $"{_dev} [{_dev.LoadedFrom}]";

    public AllocatorStatistics MemoryStatistics => _dev.Allocator.Statistics;

    /// <summary>Gives cached device memory back to the driver (blocks in use stay).</summary>
    public void EmptyCache() => _dev.Allocator.EmptyCache();

    /// <summary>A per-step scope: at its end the step's dead tensors give their memory back to the cache (see <see cref="CachingAllocator.BeginStep"/>).</summary>
    public IDisposable BeginStep() => _dev.Allocator.BeginStep();

    /// <summary>Switches this device's GEMMs between FP32 (default; see <see cref="CudaOptions.AllowTf32"/>) and TF32 tensor-op math.</summary>
    public void SetTf32(bool on) => _dev.SetTf32(on);

    /// <summary>Waits for all queued work (timings, and before reading results on the host).</summary>
    public void Synchronize() => _dev.Synchronize();

    // ---- memory ------------------------------------------------------------------------------

    /// <summary>Device address of a tensor's first element; a tensor of another device is a caller error.</summary>
    ulong P(Tensor t)
    {
        if (t.Storage is not CudaStorage s || t.Storage.Backend != this)
            throw new ArgumentException($"cuda: a tensor on {t.Device} was passed to a kernel of {Device}; move it with To({Device})");
        return s.Pointer + 4UL * (ulong)t.Offset;
    }

    static ulong P(Tensor? t, CudaBackend b) => t is null ? 0UL : b.P(t);

    public Storage Allocate(int length)
    {
        var s = new CudaStorage(this, _dev.Allocator, length);
        if (length > 0) Memset(s.Pointer, 0, length);
        return s;
    }

    public Storage AllocateUninitialized(int length)
    {
        var s = new CudaStorage(this, _dev.Allocator, length);
        // The test suite poisons fresh buffers (BufferPool.PoisonUninitialized): do the same here, so a kernel that
        // reads memory it did not write shows NaN on the GPU too.
        if (length > 0 && BufferPool.PoisonUninitialized) Memset(s.Pointer, BitConverter.SingleToUInt32Bits(float.NaN), length);
        return s;
    }

    void Memset(ulong p, uint bits, int count)
    {
        _dev.MakeCurrent();
        CuDriver.Check(CuDriver.cuMemsetD32Async(p, bits, (ulong)count, _dev.Stream), "cuMemsetD32Async");
    }

    static CudaStorage Cuda(Storage s, string op) =>
        s as CudaStorage ?? throw new ArgumentException($"cuda {op}: storage is on {s.Device}, not a CUDA device");

    public unsafe void Upload(ReadOnlySpan<float> source, Storage destination, int offset)
    {
        if (source.IsEmpty) return;
        var d = Cuda(destination, "upload");
        _dev.MakeCurrent();
        // From pageable memory the call returns once the data is staged, so the span may be reused right after.
        fixed (float* p = source)
            CuDriver.Check(CuDriver.cuMemcpyHtoDAsync(d.Pointer + 4UL * (ulong)offset, p, 4UL * (ulong)source.Length, _dev.Stream), "cuMemcpyHtoDAsync_v2");
    }

    public unsafe void Download(Storage source, int offset, Span<float> destination)
    {
        if (destination.IsEmpty) return;
        var s = Cuda(source, "download");
        _dev.MakeCurrent();
        fixed (float* p = destination)
            CuDriver.Check(CuDriver.cuMemcpyDtoHAsync(p, s.Pointer + 4UL * (ulong)offset, 4UL * (ulong)destination.Length, _dev.Stream), "cuMemcpyDtoHAsync_v2");
        CuDriver.Check(CuDriver.cuStreamSynchronize(_dev.Stream), "cuStreamSynchronize");
    }

    /// <summary>A device copy of host ints (indices, targets), released by the caller after the launch that reads it was queued.</summary>
    unsafe DeviceAllocation UploadInts(ReadOnlySpan<int> data)
    {
        var a = new DeviceAllocation(_dev.Allocator, 4L * Math.Max(1, data.Length));
        if (data.IsEmpty) return a;
        _dev.MakeCurrent();
        fixed (int* p = data)
            CuDriver.Check(CuDriver.cuMemcpyHtoDAsync(a.Pointer, p, 4UL * (ulong)data.Length, _dev.Stream), "cuMemcpyHtoDAsync_v2");
        return a;
    }

    unsafe int[] DownloadInts(ulong pointer, int count)
    {
        var r = new int[count];
        if (count == 0) return r;
        _dev.MakeCurrent();
        fixed (int* p = r)
            CuDriver.Check(CuDriver.cuMemcpyDtoHAsync(p, pointer, 4UL * (ulong)count, _dev.Stream), "cuMemcpyDtoHAsync_v2");
        CuDriver.Check(CuDriver.cuStreamSynchronize(_dev.Stream), "cuStreamSynchronize");
        return r;
    }

    void Launch(KernelModule m, string kernel, LaunchShape shape, params ReadOnlySpan<KernelArg> args) => _dev.Launch(m, kernel, shape, args);

    static KernelArg Flag(bool v) => KernelArg.Flag(v);

    // ---- core kernels ---------------------------------------------------------------------------

    public void Fill(Tensor y, float value)
    {
        if (y.Numel > 0) Memset(P(y), BitConverter.SingleToUInt32Bits(value), y.Numel);
    }

    public void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        if (blockLength <= 0 || count <= 0) return;
        ulong s = P(src) + 4UL * (ulong)srcOffset, d = P(dst) + 4UL * (ulong)dstOffset;
        if (count == 1 || (srcStride == blockLength && dstStride == blockLength))
        {
            _dev.MakeCurrent();
            CuDriver.Check(CuDriver.cuMemcpyDtoDAsync(d, s, 4UL * (ulong)blockLength * (ulong)count, _dev.Stream), "cuMemcpyDtoDAsync_v2");
            return;
        }
        int total = checked(blockLength * count);
        Launch(ElementwiseKernels.Module, "fr_copy_blocks", LaunchShape.ForElements(total), s, srcStride, d, dstStride, blockLength, total);
    }

    public void Permute(Tensor x, int[] perm, Tensor y)
    {
        int r = perm.Length, n = y.Numel;
        if (n == 0) return;
        var xStride = CpuBackend.Strides(x.Shape);
        var dims = new int[r]; var step = new int[r];
        for (int i = 0; i < r; i++) { dims[i] = x.Shape[perm[i]]; step[i] = xStride[perm[i]]; }
        var s = FrDims.Create("permute", dims, step, default);
        Launch(ElementwiseKernels.Module, "fr_permute", LaunchShape.ForElements(n), P(x), P(y), n, KernelArg.Struct(s));
    }

    public void Map(UnaryOp op, Tensor x, Tensor y, float a = 0, float b = 0)
    {
        int n = y.Numel;
        Launch(ElementwiseKernels.Module, "fr_map", LaunchShape.ForElements(n), P(x), P(y), n, (int)op, a, b);
    }

    public void Zip(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        int n = y.Numel;
        if (n == 0) return;
        if (a.Numel == n && b.Numel == n)
        {
            Launch(ElementwiseKernels.Module, "fr_zip_same", LaunchShape.ForElements(n), P(a), P(b), P(y), n, (int)op);
            return;
        }
        // The CPU's collapse of axes laid out alike in both operands; what is left is at most y's rank.
        var (dims, sa, sb) = Broadcast.Collapse(a.Shape, b.Shape, y.Shape);
        var s = FrDims.Create("zip", dims, sa, sb);
        Launch(ElementwiseKernels.Module, "fr_zip", LaunchShape.ForElements(n), P(a), P(b), P(y), n, (int)op, KernelArg.Struct(s));
    }

    /// <summary>Reductions of a contiguous row this long or longer take a block per row; shorter ones a thread per row.</summary>
    const int BlockRowMin = 256;

    public void Reduce(ReduceOp op, Tensor x, int outer, int mid, int inner, Tensor y)
    {
        if ((long)outer * inner == 0) return;
        if (mid == 0) { Fill(y, op == ReduceOp.Sum ? 0 : op == ReduceOp.Max ? float.NegativeInfinity : float.PositiveInfinity); return; }
        if (inner == 1 && mid >= BlockRowMin)
            Launch(ReduceKernels.Module, "fr_reduce_rows", LaunchShape.PerRow(outer), P(x), P(y), outer, mid, (int)op);
        else
            Launch(ReduceKernels.Module, "fr_reduce_cols", LaunchShape.ForElements((long)outer * inner), P(x), P(y), outer, mid, inner, (int)op);
    }

    public int[] ArgMax(Tensor x, int outer, int mid, int inner)
    {
        int n = outer * inner;
        if (n == 0) return [];
        if (mid == 0) return new int[n];
        using var res = new DeviceAllocation(_dev.Allocator, 4L * n);
        Launch(ReduceKernels.Module, "fr_argmax", LaunchShape.ForElements(n), P(x), res.Pointer, outer, mid, inner);
        return DownloadInts(res.Pointer, n);
    }

    public unsafe void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, int offsetA, int lda, int strideA, Tensor b, int offsetB, int ldb, int strideB,
        float beta, Tensor c, int offsetC, int ldc, int strideC, int batch = 1)
    {
        if (m == 0 || n == 0 || batch <= 0) return;
        ulong pc = P(c) + 4UL * (ulong)offsetC;
        if (k == 0)
        {
            // BLAS would leave C alone for beta = 1 only; the CPU backend makes C = beta·C explicit, per batch entry in order.
            for (int i = 0; i < batch; i++)
                Launch(ElementwiseKernels.Module, "fr_scale_matrix", LaunchShape.ForElements((long)m * n), pc + 4UL * (ulong)((long)i * strideC), m, n, ldc, beta);
            return;
        }
        ulong pa = P(a) + 4UL * (ulong)offsetA, pb = P(b) + 4UL * (ulong)offsetB;
        var g = GemmMapping.FromRowMajor(transA, transB, m, n, k, pa, lda, strideA, pb, ldb, strideB, pc, ldc, strideC);
        int ta = g.TransA ? CuBlas.OpT : CuBlas.OpN, tb = g.TransB ? CuBlas.OpT : CuBlas.OpN;
        _dev.MakeCurrent();
        if (batch == 1 || GemmMapping.NeedsSequentialBatch(batch, strideC))
        {
            for (int i = 0; i < batch; i++)
                CuBlas.Check(CuBlas.cublasSgemm_v2(_dev.Blas, ta, tb, g.M, g.N, g.K, &alpha,
                    g.A + 4UL * (ulong)(i * g.StrideA), g.Lda, g.B + 4UL * (ulong)(i * g.StrideB), g.Ldb, &beta,
                    g.C + 4UL * (ulong)(i * g.StrideC), g.Ldc), "cublasSgemm_v2");
            return;
        }
        CuBlas.Check(CuBlas.cublasSgemmStridedBatched(_dev.Blas, ta, tb, g.M, g.N, g.K, &alpha, g.A, g.Lda, g.StrideA,
            g.B, g.Ldb, g.StrideB, &beta, g.C, g.Ldc, g.StrideC, batch), "cublasSgemmStridedBatched");
    }
}
