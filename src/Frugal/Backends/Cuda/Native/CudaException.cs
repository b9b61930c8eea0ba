namespace Frugal.Backends.Cuda.Native;

/// <summary>Which API a status code came from: the names of the codes differ.</summary>
public enum CudaApi { Driver, Cublas, Nvrtc }

/// <summary>
/// A failed CUDA call: names the call and the status (e.g. "cuda: cuMemAlloc_v2 failed with CUDA_ERROR_OUT_OF_MEMORY (2)").
/// </summary>
public sealed class CudaException(string call, CudaApi api, int code, string? detail = null)
    : Exception($"cuda: {call} failed with {ErrorNames.Name(api, code)} ({code}){(detail is null ? "" : ": " + detail)}")
{
    public string Call { get; } = call;
    public CudaApi Api { get; } = api;
    public int Code { get; } = code;
    public string ErrorName => ErrorNames.Name(Api, Code);
}

/// <summary>
/// Status-code names of the driver API (CUresult), cuBLAS (cublasStatus_t) and NVRTC (nvrtcResult), from the
/// CUDA headers. The driver's own cuGetErrorName is asked first when the driver is loaded; this table covers the
/// codes one meets, and the rest print as "CUDA_ERROR_&lt;code&gt;".
/// </summary>
public static class ErrorNames
{
    public const int OutOfMemory = 2;

    static readonly Dictionary<int, string> Driver = new()
    {
        [0] = "CUDA_SUCCESS", [1] = "CUDA_ERROR_INVALID_VALUE", [2] = "CUDA_ERROR_OUT_OF_MEMORY",
        [3] = "CUDA_ERROR_NOT_INITIALIZED", [4] = "CUDA_ERROR_DEINITIALIZED", [34] = "CUDA_ERROR_STUB_LIBRARY",
        [35] = "CUDA_ERROR_INSUFFICIENT_DRIVER", [100] = "CUDA_ERROR_NO_DEVICE", [101] = "CUDA_ERROR_INVALID_DEVICE",
        [200] = "CUDA_ERROR_INVALID_IMAGE", [201] = "CUDA_ERROR_INVALID_CONTEXT", [209] = "CUDA_ERROR_NO_BINARY_FOR_GPU",
        [218] = "CUDA_ERROR_INVALID_PTX", [222] = "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", [300] = "CUDA_ERROR_INVALID_SOURCE",
        [400] = "CUDA_ERROR_INVALID_HANDLE", [500] = "CUDA_ERROR_NOT_FOUND", [600] = "CUDA_ERROR_NOT_READY",
        [700] = "CUDA_ERROR_ILLEGAL_ADDRESS", [701] = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", [702] = "CUDA_ERROR_LAUNCH_TIMEOUT",
        [716] = "CUDA_ERROR_MISALIGNED_ADDRESS", [719] = "CUDA_ERROR_LAUNCH_FAILED", [900] = "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
        [901] = "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", [999] = "CUDA_ERROR_UNKNOWN",
    };

    static readonly Dictionary<int, string> Cublas = new()
    {
        [0] = "CUBLAS_STATUS_SUCCESS", [1] = "CUBLAS_STATUS_NOT_INITIALIZED", [3] = "CUBLAS_STATUS_ALLOC_FAILED",
        [7] = "CUBLAS_STATUS_INVALID_VALUE", [8] = "CUBLAS_STATUS_ARCH_MISMATCH", [11] = "CUBLAS_STATUS_MAPPING_ERROR",
        [13] = "CUBLAS_STATUS_EXECUTION_FAILED", [14] = "CUBLAS_STATUS_INTERNAL_ERROR", [15] = "CUBLAS_STATUS_NOT_SUPPORTED",
        [16] = "CUBLAS_STATUS_LICENSE_ERROR",
    };

    static readonly string[] Nvrtc =
    [
        "NVRTC_SUCCESS", "NVRTC_ERROR_OUT_OF_MEMORY", "NVRTC_ERROR_PROGRAM_CREATION_FAILURE", "NVRTC_ERROR_INVALID_INPUT",
        "NVRTC_ERROR_INVALID_PROGRAM", "NVRTC_ERROR_INVALID_OPTION", "NVRTC_ERROR_COMPILATION", "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE",
        "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION", "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION",
        "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID", "NVRTC_ERROR_INTERNAL_ERROR",
    ];

    /// <summary>Asks the loaded driver for a CUresult's name; set once the driver is up.</summary>
    internal static Func<int, string?>? DriverLookup { get; set; }

    public static string Name(CudaApi api, int code) => api switch
    {
        CudaApi.Driver => DriverLookup?.Invoke(code) ?? (Driver.TryGetValue(code, out var d) ? d : $"CUDA_ERROR_{code}"),
        CudaApi.Cublas => Cublas.TryGetValue(code, out var c) ? c : $"CUBLAS_STATUS_{code}",
        _ => (uint)code < (uint)Nvrtc.Length ? Nvrtc[code] : $"NVRTC_ERROR_{code}",
    };
}
