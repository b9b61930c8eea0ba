namespace Frugal.Backends.Cuda;

/// <summary>One column-major (cuBLAS) GEMM call: C = alpha·op(A)·op(B) + beta·C with op(A) M×K, strides in elements.</summary>
public readonly record struct ColumnMajorGemm(bool TransA, bool TransB, int M, int N, int K,
    ulong A, int Lda, long StrideA, ulong B, int Ldb, long StrideB, ulong C, int Ldc, long StrideC);

/// <summary>
/// Row-major products on a column-major BLAS. A row-major matrix with leading dimension ld is, read column-major,
/// its transpose with the same ld; so the row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the
/// operands and M with N, keep each operand's transpose flag and leading dimension. (The usual trick; no data moves.)
/// </summary>
public static class GemmMapping
{
    public static ColumnMajorGemm FromRowMajor(bool transA, bool transB, int m, int n, int k,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, ulong c, int ldc, long strideC) =>
        new(transB, transA, n, m, k, b, ldb, strideB, a, lda, strideA, c, ldc, strideC);

    /// <summary>
    /// Whether a batched call must run as <paramref name="batch"/> single GEMMs in order: when the C operands coincide
    /// (stride 0, the images of a convolution summing into one weight gradient), cuBLAS's batched GEMM would race on C.
    /// </summary>
    public static bool NeedsSequentialBatch(int batch, long strideC) => batch > 1 && strideC == 0;
}
