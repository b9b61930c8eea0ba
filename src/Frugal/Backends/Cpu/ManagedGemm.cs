using System.Numerics;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Fallback SGEMM in managed SIMD for machines without OpenBLAS: correct, several times slower.
/// Row-major C = alpha·op(A)·op(B) + beta·C. Operands are first packed non-transposed, then each row
/// of C accumulates scaled rows of B (an axpy the JIT vectorises), rows split across threads.
/// </summary>
static unsafe class ManagedGemm
{
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        var ap = new float[m * k];
        var bp = new float[k * n];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++)
                ap[i * k + p] = transA ? a[p * lda + i] : a[i * lda + p];
        for (int p = 0; p < k; p++)
            for (int j = 0; j < n; j++)
                bp[p * n + j] = transB ? b[j * ldb + p] : b[p * ldb + j];
        var cAddr = (IntPtr)c;
        Threading.For(m, (r0, r1) =>
        {
            var row = new float[n];
            float* cc = (float*)cAddr;
            for (int i = r0; i < r1; i++)
            {
                Array.Clear(row);
                for (int p = 0; p < k; p++)
                {
                    float s = ap[i * k + p];
                    if (s == 0) continue;
                    var brow = bp.AsSpan(p * n, n);
                    int j = 0;
                    var vs = new Vector<float>(s);
                    for (; j <= n - Vector<float>.Count; j += Vector<float>.Count)
                        (new Vector<float>(row, j) + vs * new Vector<float>(brow[j..])).CopyTo(row, j);
                    for (; j < n; j++) row[j] += s * brow[j];
                }
                float* crow = cc + (long)i * ldc;
                for (int j = 0; j < n; j++)
                    crow[j] = alpha * row[j] + (beta == 0 ? 0 : beta * crow[j]);
            }
        }, grain: Math.Max(1, (1 << 16) / Math.Max(1, n * k / 64)));
    }
}
