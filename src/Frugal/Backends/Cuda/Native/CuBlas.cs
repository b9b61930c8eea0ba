using System.Runtime.InteropServices;

namespace Frugal.Backends.Cuda.Native;

/// <summary>
/// The cuBLAS calls the backend uses (cublas_api.h, v2 API). cuBLAS is column-major; <see cref="CudaBackend"/>
/// computes row-major products by swapping the operands (see <see cref="GemmMapping"/>). Scalars are passed by
/// host pointer (the default CUBLAS_POINTER_MODE_HOST).
/// </summary>
internal static unsafe class CuBlas
{
    const string Lib = CudaLibraries.CublasImport;

    public const int OpN = 0, OpT = 1;
    /// <summary>cublasMath_t: CUBLAS_DEFAULT_MATH (FP32) and CUBLAS_TF32_TENSOR_OP_MATH.</summary>
    public const int DefaultMath = 0, Tf32TensorOpMath = 3;

    public static void Check(int status, string call)
    {
        if (status != 0) throw new CudaException(call, CudaApi.Cublas, status);
    }

    [DllImport(Lib)] public static extern int cublasCreate_v2(IntPtr* handle);
    [DllImport(Lib)] public static extern int cublasDestroy_v2(IntPtr handle);
    [DllImport(Lib)] public static extern int cublasGetVersion_v2(IntPtr handle, int* version);
    [DllImport(Lib)] public static extern int cublasSetStream_v2(IntPtr handle, IntPtr stream);
    [DllImport(Lib)] public static extern int cublasSetMathMode(IntPtr handle, int mode);

    [DllImport(Lib)] public static extern int cublasSgemm_v2(IntPtr handle, int transA, int transB, int m, int n, int k,
        float* alpha, ulong a, int lda, ulong b, int ldb, float* beta, ulong c, int ldc);

    [DllImport(Lib)] public static extern int cublasSgemmStridedBatched(IntPtr handle, int transA, int transB, int m, int n, int k,
        float* alpha, ulong a, int lda, long strideA, ulong b, int ldb, long strideB, float* beta, ulong c, int ldc, long strideC, int batchCount);
}
