using System.Runtime.InteropServices;

namespace Frugal.Backends.Cuda.Native;

/// <summary>
/// The CUDA driver API subset the backend uses (cuda.h; the _v2 entry points are the current ABI of the
/// unsuffixed macros). Device pointers are <c>ulong</c> (CUdeviceptr), handles are <see cref="IntPtr"/>. Every call
/// returns a CUresult; <see cref="Check"/> turns a failure into a <see cref="CudaException"/> naming the call.
/// Stream capture and graph calls are declared for capturing a training step later.
/// </summary>
internal static unsafe class CuDriver
{
    const string Lib = CudaLibraries.DriverImport;

    public const int AttrComputeCapabilityMajor = 75, AttrComputeCapabilityMinor = 76, AttrMultiprocessorCount = 16;
    public const uint StreamNonBlocking = 1;
    public const int StreamCaptureModeThreadLocal = 1;

    public static void Check(int result, string call)
    {
        if (result != 0) throw new CudaException(call, CudaApi.Driver, result);
    }

    [DllImport(Lib)] public static extern int cuInit(uint flags);
    [DllImport(Lib)] public static extern int cuDriverGetVersion(int* version);
    [DllImport(Lib)] public static extern int cuDeviceGetCount(int* count);
    [DllImport(Lib)] public static extern int cuDeviceGet(int* device, int ordinal);
    [DllImport(Lib)] public static extern int cuDeviceGetName(byte* name, int length, int device);
    [DllImport(Lib)] public static extern int cuDeviceGetAttribute(int* value, int attribute, int device);
    [DllImport(Lib, EntryPoint = "cuDeviceTotalMem_v2")] public static extern int cuDeviceTotalMem(ulong* bytes, int device);
    [DllImport(Lib)] public static extern int cuDevicePrimaryCtxRetain(IntPtr* context, int device);
    [DllImport(Lib, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] public static extern int cuDevicePrimaryCtxRelease(int device);
    [DllImport(Lib)] public static extern int cuCtxSetCurrent(IntPtr context);
    [DllImport(Lib)] public static extern int cuCtxSynchronize();
    [DllImport(Lib)] public static extern int cuGetErrorName(int result, byte** name);

    [DllImport(Lib, EntryPoint = "cuMemAlloc_v2")] public static extern int cuMemAlloc(ulong* pointer, ulong bytes);
    [DllImport(Lib, EntryPoint = "cuMemFree_v2")] public static extern int cuMemFree(ulong pointer);
    [DllImport(Lib, EntryPoint = "cuMemGetInfo_v2")] public static extern int cuMemGetInfo(ulong* free, ulong* total);
    [DllImport(Lib, EntryPoint = "cuMemcpyHtoD_v2")] public static extern int cuMemcpyHtoD(ulong dst, void* src, ulong bytes);
    [DllImport(Lib, EntryPoint = "cuMemcpyDtoH_v2")] public static extern int cuMemcpyDtoH(void* dst, ulong src, ulong bytes);
    [DllImport(Lib, EntryPoint = "cuMemcpyHtoDAsync_v2")] public static extern int cuMemcpyHtoDAsync(ulong dst, void* src, ulong bytes, IntPtr stream);
    [DllImport(Lib, EntryPoint = "cuMemcpyDtoHAsync_v2")] public static extern int cuMemcpyDtoHAsync(void* dst, ulong src, ulong bytes, IntPtr stream);
    [DllImport(Lib, EntryPoint = "cuMemcpyDtoDAsync_v2")] public static extern int cuMemcpyDtoDAsync(ulong dst, ulong src, ulong bytes, IntPtr stream);
    [DllImport(Lib, EntryPoint = "cuMemsetD32_v2")] public static extern int cuMemsetD32(ulong dst, uint value, ulong count);
    [DllImport(Lib)] public static extern int cuMemsetD32Async(ulong dst, uint value, ulong count, IntPtr stream);

    [DllImport(Lib)] public static extern int cuStreamCreate(IntPtr* stream, uint flags);
    [DllImport(Lib, EntryPoint = "cuStreamDestroy_v2")] public static extern int cuStreamDestroy(IntPtr stream);
    [DllImport(Lib)] public static extern int cuStreamSynchronize(IntPtr stream);

    [DllImport(Lib)] public static extern int cuEventCreate(IntPtr* ev, uint flags);
    [DllImport(Lib)] public static extern int cuEventRecord(IntPtr ev, IntPtr stream);
    [DllImport(Lib)] public static extern int cuEventSynchronize(IntPtr ev);
    [DllImport(Lib)] public static extern int cuEventElapsedTime(float* ms, IntPtr start, IntPtr end);
    [DllImport(Lib, EntryPoint = "cuEventDestroy_v2")] public static extern int cuEventDestroy(IntPtr ev);

    [DllImport(Lib)] public static extern int cuModuleLoadData(IntPtr* module, void* image);
    [DllImport(Lib)] public static extern int cuModuleUnload(IntPtr module);
    [DllImport(Lib)] public static extern int cuModuleGetFunction(IntPtr* function, IntPtr module, byte* name);
    [DllImport(Lib)] public static extern int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ,
        uint blockX, uint blockY, uint blockZ, uint sharedBytes, IntPtr stream, void** kernelParams, void** extra);

    // Stream capture and graphs (CUDA 12+ signatures), for replaying a whole training step later.
    [DllImport(Lib, EntryPoint = "cuStreamBeginCapture_v2")] public static extern int cuStreamBeginCapture(IntPtr stream, int mode);
    [DllImport(Lib)] public static extern int cuStreamEndCapture(IntPtr stream, IntPtr* graph);
    [DllImport(Lib)] public static extern int cuGraphInstantiateWithFlags(IntPtr* graphExec, IntPtr graph, ulong flags);
    [DllImport(Lib)] public static extern int cuGraphLaunch(IntPtr graphExec, IntPtr stream);
    [DllImport(Lib)] public static extern int cuGraphExecDestroy(IntPtr graphExec);
    [DllImport(Lib)] public static extern int cuGraphDestroy(IntPtr graph);

    /// <summary>The driver's name for a CUresult, or null when it does not know the code.</summary>
    public static string? ErrorName(int result)
    {
        byte* p = null;
        return cuGetErrorName(result, &p) == 0 && p != null ? Marshal.PtrToStringUTF8((IntPtr)p) : null;
    }
}
