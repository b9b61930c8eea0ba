using Frugal.Backends.Cuda;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>The row-major → column-major operand swap, checked against a column-major reference GEMM on the host.</summary>
public class GemmMappingTests
{
    /// <summary>BLAS sgemm as specified (column-major, element (i, j) of X at X[i + j·ld]), on host arrays with pointers as offsets.</summary>
    static void ColumnMajorSgemm(ColumnMajorGemm g, float alpha, float[] mem, float beta, int batch)
    {
        for (int p = 0; p < batch; p++)
        {
            long a0 = (long)g.A + p * g.StrideA, b0 = (long)g.B + p * g.StrideB, c0 = (long)g.C + p * g.StrideC;
            for (int j = 0; j < g.N; j++)
                for (int i = 0; i < g.M; i++)
                {
                    double s = 0;
                    for (int l = 0; l < g.K; l++)
                    {
                        float av = g.TransA ? mem[a0 + l + i * g.Lda] : mem[a0 + i + l * g.Lda];
                        float bv = g.TransB ? mem[b0 + j + l * g.Ldb] : mem[b0 + l + j * g.Ldb];
                        s += av * bv;
                    }
                    long ci = c0 + i + j * g.Ldc;
                    mem[ci] = (float)(alpha * s + (beta == 0 ? 0 : beta * mem[ci]));
                }
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Row_major_products_come_out_right_through_the_swap(bool ta, bool tb)
    {
        const int m = 3, n = 5, k = 4, batch = 2;
        // Padded leading dimensions catch a swapped ld.
        int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
        int rowsA = ta ? k : m, rowsB = tb ? n : k;
        long sa = rowsA * lda, sb = rowsB * ldb, sc = m * ldc;
        long aOff = 0, bOff = aOff + batch * sa, cOff = bOff + batch * sb;
        var mem = new float[cOff + batch * sc];
        var rng = new Random(3);
        for (int i = 0; i < mem.Length; i++) mem[i] = (float)(rng.NextDouble() * 2 - 1);
        var expected = (float[])mem.Clone();
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int l = 0; l < k; l++)
                    {
                        float av = ta ? mem[aOff + p * sa + l * lda + i] : mem[aOff + p * sa + i * lda + l];
                        float bv = tb ? mem[bOff + p * sb + j * ldb + l] : mem[bOff + p * sb + l * ldb + j];
                        s += av * bv;
                    }
                    long ci = cOff + p * sc + i * ldc + j;
                    expected[ci] = (float)(2 * s + 0.5 * mem[ci]);
                }
        var g = GemmMapping.FromRowMajor(ta, tb, m, n, k, (ulong)aOff, lda, sa, (ulong)bOff, ldb, sb, (ulong)cOff, ldc, sc);
        ColumnMajorSgemm(g, 2f, mem, 0.5f, batch);
        Check.Close(expected, mem, 1e-5f, 1e-5f, "gemm");
    }

    [Fact]
    public void Only_batches_into_one_shared_output_run_sequentially()
    {
        Assert.True(GemmMapping.NeedsSequentialBatch(8, 0));
        Assert.False(GemmMapping.NeedsSequentialBatch(1, 0));
        Assert.False(GemmMapping.NeedsSequentialBatch(8, 64));
    }
}
