using System.Runtime.InteropServices;
using Frugal.Backends.Cuda.Kernels;
using Frugal.Backends.Cuda.Memory;
using Frugal.Backends.Cuda.Native;

namespace Frugal.Backends.Cuda;

/// <summary>
/// One GPU as the backend uses it: the primary context, one non-blocking stream that all work goes to (so memory
/// can be reused without events, see <see cref="CachingAllocator"/>), a cuBLAS handle bound to that stream, the
/// caching allocator and the compiled kernels. Any thread may call in: the context is made current per thread.
/// </summary>
internal sealed unsafe class CudaDevice
{
    public int Ordinal { get; }
    public string Name { get; }
    public int Major { get; }
    public int Minor { get; }
    public long TotalMemory { get; }
    public IntPtr Context { get; }
    public IntPtr Stream { get; }
    public IntPtr Blas { get; }
    public CachingAllocator Allocator { get; }
    public KernelCache Kernels { get; }
    public string LoadedFrom { get; }

    [ThreadStatic] static IntPtr _current;
    static bool _initialised;
    static readonly object _initGate = new();

    CudaDevice(int ordinal)
    {
        Ordinal = ordinal;
        var driver = CudaLibraries.Require(CudaLibrary.Driver);
        lock (_initGate)
        {
            if (!_initialised)
            {
                int rc = CuDriver.cuInit(0);
                if (rc == 34) throw new NotSupportedException($"cuda: {driver} is the toolkit's stub library, not a driver (CUDA_ERROR_STUB_LIBRARY); install the NVIDIA driver");
                if (rc == 100) throw new NotSupportedException("cuda: the driver found no GPU (CUDA_ERROR_NO_DEVICE)");
                CuDriver.Check(rc, "cuInit");
                ErrorNames.DriverLookup = CuDriver.ErrorName;
                _initialised = true;
            }
        }
        int count;
        CuDriver.Check(CuDriver.cuDeviceGetCount(&count), "cuDeviceGetCount");
        if (ordinal >= count) throw new NotSupportedException($"cuda:{ordinal}: only {count} GPU(s) present");
        int dev, major, minor;
        CuDriver.Check(CuDriver.cuDeviceGet(&dev, ordinal), "cuDeviceGet");
        var name = stackalloc byte[256];
        CuDriver.Check(CuDriver.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
        Name = Marshal.PtrToStringUTF8((IntPtr)name) ?? "?";
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(&major, CuDriver.AttrComputeCapabilityMajor, dev), "cuDeviceGetAttribute");
        CuDriver.Check(CuDriver.cuDeviceGetAttribute(&minor, CuDriver.AttrComputeCapabilityMinor, dev), "cuDeviceGetAttribute");
        Major = major; Minor = minor;
        ulong total;
        CuDriver.Check(CuDriver.cuDeviceTotalMem(&total, dev), "cuDeviceTotalMem_v2");
        TotalMemory = (long)total;
        IntPtr ctx, stream, blas;
        CuDriver.Check(CuDriver.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain");
        Context = ctx;
        MakeCurrent();
        CuDriver.Check(CuDriver.cuStreamCreate(&stream, CuDriver.StreamNonBlocking), "cuStreamCreate");
        Stream = stream;

        var blasFrom = CudaLibraries.Require(CudaLibrary.Cublas);
        CuBlas.Check(CuBlas.cublasCreate_v2(&blas), "cublasCreate_v2");
        Blas = blas;
        CuBlas.Check(CuBlas.cublasSetStream_v2(blas, stream), "cublasSetStream_v2");
        CuBlas.Check(CuBlas.cublasSetMathMode(blas, CudaOptions.AllowTf32 ? CuBlas.Tf32TensorOpMath : CuBlas.DefaultMath), "cublasSetMathMode");

        var nvrtcFrom = CudaLibraries.Require(CudaLibrary.Nvrtc);
        var arch = KernelCache.ChooseArch(major, minor, Nvrtc.SupportedArchs());
        Kernels = new KernelCache(arch, Nvrtc.CompileToPtx, LoadModule, GetFunction);
        Allocator = new CachingAllocator(new DriverMemory(this));
        LoadedFrom = $"{driver}, {blasFrom}, {nvrtcFrom}";
    }

    /// <summary>Opens GPU <paramref name="ordinal"/>; <see cref="NotSupportedException"/> with a one-line reason when there is none.</summary>
    public static CudaDevice Open(int ordinal) => new(ordinal);

    public override string ToString() =>
        $"cuda:{Ordinal} {Name} (compute {Major}.{Minor}, {TotalMemory / (1L << 30)} GiB, kernels for {Kernels.Arch}{(CudaOptions.AllowTf32 ? ", TF32 GEMMs" : "")})";

    /// <summary>FP32 (default) or TF32 tensor-op math for the GEMMs that follow.</summary>
    public void SetTf32(bool on)
    {
        MakeCurrent();
        CuBlas.Check(CuBlas.cublasSetMathMode(Blas, on ? CuBlas.Tf32TensorOpMath : CuBlas.DefaultMath), "cublasSetMathMode");
    }

    public void MakeCurrent()
    {
        if (_current == Context) return;
        CuDriver.Check(CuDriver.cuCtxSetCurrent(Context), "cuCtxSetCurrent");
        _current = Context;
    }

    public void Synchronize()
    {
        MakeCurrent();
        CuDriver.Check(CuDriver.cuStreamSynchronize(Stream), "cuStreamSynchronize");
    }

    IntPtr LoadModule(byte[] ptx)
    {
        IntPtr m;
        fixed (byte* p = ptx) CuDriver.Check(CuDriver.cuModuleLoadData(&m, p), "cuModuleLoadData");
        return m;
    }

    static IntPtr GetFunction(IntPtr module, string name)
    {
        IntPtr f;
        fixed (byte* n = Nvrtc.Utf8z(name)) CuDriver.Check(CuDriver.cuModuleGetFunction(&f, module, n), $"cuModuleGetFunction({name})");
        return f;
    }

    /// <summary>Launches <paramref name="kernel"/> of <paramref name="module"/> on the stream; nothing for an empty shape.
    /// The arguments are checked against the kernel's signature first.</summary>
    public void Launch(KernelModule module, string kernel, LaunchShape shape, params ReadOnlySpan<KernelArg> args)
    {
        var sig = module.Signature(kernel);
        sig.Validate(args, module.StructSizes);
        if (shape.IsEmpty) return;
        MakeCurrent();
        var k = Kernels.Get(module, kernel);
        var (buffer, offsets) = KernelArgPacker.Pack(args);
        fixed (byte* b = buffer)
        {
            var ptrs = stackalloc void*[Math.Max(1, offsets.Length)];
            for (int i = 0; i < offsets.Length; i++) ptrs[i] = b + offsets[i];
            CuDriver.Check(CuDriver.cuLaunchKernel(k.Function, shape.Grid, 1, 1, shape.Block, 1, 1, 0, Stream, ptrs, null), $"cuLaunchKernel({kernel})");
        }
        if (CudaOptions.SyncEveryLaunch)
            CuDriver.Check(CuDriver.cuStreamSynchronize(Stream), $"{kernel} (synchronised after launch)");
    }

    /// <summary>Raw allocation through the driver; out of memory is reported as false for the allocator to retry.</summary>
    sealed class DriverMemory(CudaDevice device) : IDeviceMemory
    {
        public bool TryAllocate(long bytes, out ulong pointer)
        {
            device.MakeCurrent();
            ulong p;
            int rc = CuDriver.cuMemAlloc(&p, (ulong)bytes);
            pointer = p;
            if (rc == ErrorNames.OutOfMemory) return false;
            CuDriver.Check(rc, "cuMemAlloc_v2");
            return true;
        }

        public void Free(ulong pointer)
        {
            // May run on another thread than the one that queued work: make the context current there too. A cached
            // block may still be read by queued kernels of the stream, so wait for them before giving it to the driver
            // (rare: only when the cache is emptied).
            device.MakeCurrent();
            CuDriver.Check(CuDriver.cuStreamSynchronize(device.Stream), "cuStreamSynchronize");
            CuDriver.Check(CuDriver.cuMemFree(pointer), "cuMemFree_v2");
        }
    }
}
