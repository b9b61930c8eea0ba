using System.Numerics.Tensors;

namespace Frugal.Distributed.Compression;

/// <summary>
/// The products and the orthonormalisation of PowerSGD's power iteration (Vogels et al., NeurIPS 2019, Alg. 1) for a
/// row-major n×m matrix M and rank-r factors kept transposed, Pᵀ [r×n] and Qᵀ [r×m], so every column of P and Q is a
/// contiguous row. With r of 1 to 8 each product is one pass over M with r vectorised dots or axpys per row: the
/// products are bound by reading M, which a GEMM call would not read faster.
/// </summary>
public static class LowRank
{
    /// <summary>Pᵀ = (M·Q)ᵀ: P[i, c] = M[i, :]·Q[:, c].</summary>
    public static void TimesQ(ReadOnlySpan<float> m, int rows, int cols, ReadOnlySpan<float> qt, int rank, Span<float> pt)
    {
        Check(m, rows, cols, pt, rank * rows, qt, rank * cols, "times_q");
        for (int i = 0; i < rows; i++)
        {
            var row = m.Slice(i * cols, cols);
            for (int c = 0; c < rank; c++) pt[c * rows + i] = TensorPrimitives.Dot(row, qt.Slice(c * cols, cols));
        }
    }

    /// <summary>Qᵀ = (Mᵀ·P)ᵀ = Pᵀ·M: Q[:, c] = Σ_i P[i, c]·M[i, :], rows summed in order.</summary>
    public static void TransposeTimesP(ReadOnlySpan<float> m, int rows, int cols, ReadOnlySpan<float> pt, int rank, Span<float> qt)
    {
        Check(m, rows, cols, pt, rank * rows, qt, rank * cols, "transpose_times_p");
        qt.Clear();
        for (int i = 0; i < rows; i++)
        {
            var row = m.Slice(i * cols, cols);
            for (int c = 0; c < rank; c++)
            {
                var q = qt.Slice(c * cols, cols);
                TensorPrimitives.MultiplyAdd(row, pt[c * rows + i], q, q);
            }
        }
    }

    /// <summary>into += α·P·Qᵀ (into is n×m).</summary>
    public static void AddProduct(ReadOnlySpan<float> pt, ReadOnlySpan<float> qt, int rank, int rows, int cols, float alpha, Span<float> into)
    {
        Check(into, rows, cols, pt, rank * rows, qt, rank * cols, "add_product");
        for (int i = 0; i < rows; i++)
        {
            var row = into.Slice(i * cols, cols);
            for (int c = 0; c < rank; c++) TensorPrimitives.MultiplyAdd(qt.Slice(c * cols, cols), alpha * pt[c * rows + i], row, row);
        }
    }

    /// <summary>
    /// Orthonormalises the columns of P (the rows of <paramref name="pt"/>) in place by modified Gram–Schmidt in double
    /// precision. A column that is zero after removing the earlier ones stays zero: P̂·P̂ᵀ is then the projection onto
    /// the span P has, and M̂ = P̂·P̂ᵀ·M stays exact for a matrix of rank below r.
    /// </summary>
    public static void Orthonormalise(Span<float> pt, int rank, int rows)
    {
        if (pt.Length != rank * rows) throw new ArgumentException($"orthonormalise: {pt.Length} values for {rank} columns of {rows}");
        var v = new double[pt.Length];
        for (int i = 0; i < v.Length; i++) v[i] = pt[i];
        for (int c = 0; c < rank; c++)
        {
            var col = v.AsSpan(c * rows, rows);
            // Twice: a column nearly in the span of the earlier ones leaves a residual of rounding size, which one
            // pass does not make orthogonal to them ("twice is enough", Giraud et al. 2005).
            for (int pass = 0; pass < 2; pass++)
                for (int j = 0; j < c; j++)
                {
                    var prev = v.AsSpan(j * rows, rows);
                    double d = TensorPrimitives.Dot<double>(prev, col);
                    TensorPrimitives.MultiplyAdd(prev, -d, col, col);
                }
            double norm = Math.Sqrt(TensorPrimitives.Dot<double>(col, col));
            if (norm > 0) TensorPrimitives.Multiply(col, 1 / norm, col);
            else col.Clear();
        }
        for (int i = 0; i < v.Length; i++) pt[i] = (float)v[i];
    }

    static void Check(ReadOnlySpan<float> m, int rows, int cols, ReadOnlySpan<float> pt, int pLength, ReadOnlySpan<float> qt, int qLength, string op)
    {
        if (m.Length != rows * cols || pt.Length != pLength || qt.Length != qLength)
            throw new ArgumentException($"{op}: matrix {m.Length} for {rows}×{cols}, Pᵀ {pt.Length} (expected {pLength}), Qᵀ {qt.Length} (expected {qLength})");
    }
}
