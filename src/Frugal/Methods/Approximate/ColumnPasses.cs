using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Frugal.Backends.Cpu;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Frugal.Methods.Approximate;

/// <summary>
/// The passes a forward-sampled Linear makes over its two operands X [N, in] and W [out, in] (METHODS.md §2), each
/// over both matrices in one parallel region on host arrays: the column norms ‖X[:,i]‖², ‖W[:,i]‖² that weigh the
/// terms; the gather of the kept columns with the estimator's scale folded in; and, in backward, the expansion of the
/// kept columns' gradients into full-width zero-filled gradients (one write per element, no zero fill followed by an
/// index-add). Separate ops cost two tensors, a region and a sweep each, plus a multiply for the scale. The row kernels
/// use AVX-512 compress/expand over 16-column chunks (a keep-mask per chunk) where available; each kernel has a scalar
/// reference the tests compare it to.
/// </summary>
internal static class ColumnPasses
{
    /// <summary>One operand of a pass: rows × cols floats, row-major, at <paramref name="Offset"/> of <paramref name="Data"/>.</summary>
    public readonly record struct Matrix(float[] Data, int Offset, int Rows, int Cols)
    {
        public Span<float> Row(int r) => Data.AsSpan(Offset + r * Cols, Cols);
    }

    /// <summary>sa[i] = Σ_r a[r, i]², sb[i] = Σ_r b[r, i]² (a and b have the same column count). Columns are split
    /// over threads; each thread reads its column range of every row of a, then of b, accumulating in float in row order.</summary>
    public static (float[] A, float[] B) SquaredColumnNorms(Matrix a, Matrix b)
    {
        CheckSameCols("squared_column_norms", a, b);
        int n = a.Cols;
        var sa = new float[n]; var sb = new float[n];
        Threading.For(n, (j0, j1) =>
        {
            int len = j1 - j0;
            var accA = sa.AsSpan(j0, len); var accB = sb.AsSpan(j0, len);
            for (int r = 0; r < a.Rows; r++) { var x = a.Row(r).Slice(j0, len); TensorPrimitives.MultiplyAdd(x, x, accA, accA); }
            for (int r = 0; r < b.Rows; r++) { var x = b.Row(r).Slice(j0, len); TensorPrimitives.MultiplyAdd(x, x, accB, accB); }
        }, Threading.Grain(a.Rows + b.Rows));
        return (sa, sb);
    }

    /// <summary>Scalar reference of <see cref="SquaredColumnNorms"/>.</summary>
    public static (float[] A, float[] B) SquaredColumnNormsScalar(Matrix a, Matrix b)
    {
        CheckSameCols("squared_column_norms", a, b);
        static float[] Norms(Matrix m)
        {
            var s = new float[m.Cols];
            for (int r = 0; r < m.Rows; r++)
            {
                var row = m.Row(r);
                for (int i = 0; i < m.Cols; i++) s[i] += row[i] * row[i];
            }
            return s;
        }
        return (Norms(a), Norms(b));
    }

    /// <summary>ga[r, j] = a[r, idx[j]]·(scaleA ? s[j] : 1) and gb likewise (ga: a.Rows × k, gb: b.Rows × k); the rows of
    /// both are split over threads together. <paramref name="scales"/> null = all 1.</summary>
    public static unsafe void Gather(Matrix a, Matrix b, int[] idx, float[]? scales, bool scaleA, Matrix ga, Matrix gb)
    {
        CheckGather("gather_columns", a, b, idx, scales, ga, gb);
        var chunks = new ChunkMasks(idx, a.Cols);
        Threading.For(a.Rows + b.Rows, (r0, r1) =>
        {
            fixed (float* pa = a.Data, pb = b.Data, pga = ga.Data, pgb = gb.Data, ps = scales)
            fixed (int* pi = idx)
                for (int r = r0; r < r1; r++)
                {
                    bool inA = r < a.Rows;
                    float* src = inA ? pa + a.Offset + (long)r * a.Cols : pb + b.Offset + (long)(r - a.Rows) * b.Cols;
                    float* dst = inA ? pga + ga.Offset + (long)r * idx.Length : pgb + gb.Offset + (long)(r - a.Rows) * idx.Length;
                    GatherRow(src, a.Cols, pi, idx.Length, inA == scaleA ? ps : null, dst, chunks);
                }
        }, Threading.Grain(idx.Length));
    }

    /// <summary>Scalar reference of <see cref="Gather"/>: the same row kernel, one thread.</summary>
    public static void GatherScalar(Matrix a, Matrix b, int[] idx, float[]? scales, bool scaleA, Matrix ga, Matrix gb)
    {
        CheckGather("gather_columns", a, b, idx, scales, ga, gb);
        for (int r = 0; r < a.Rows; r++)
            for (int j = 0; j < idx.Length; j++) ga.Row(r)[j] = a.Row(r)[idx[j]] * (scaleA && scales != null ? scales[j] : 1f);
        for (int r = 0; r < b.Rows; r++)
            for (int j = 0; j < idx.Length; j++) gb.Row(r)[j] = b.Row(r)[idx[j]] * (!scaleA && scales != null ? scales[j] : 1f);
    }

    /// <summary>d[j] = s[idx[j]]·(scale[j]): chunk c of the row contributes its kept lanes, packed, at the running output
    /// position (the next chunk's store overwrites the lanes past them); the last chunks, where a 16-float store would
    /// pass the end of d, finish element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GatherRow(float* s, int cols, int* idx, int k, float* scale, float* d, ChunkMasks chunks)
    {
        int p = 0;
        if (chunks.Masks != null)
            for (int c = 0; p + 16 <= k; c++)
            {
                var v = Avx512F.Compress(Vector512<float>.Zero, chunks.Masks[c], Vector512.Load(s + c * 16));
                if (scale != null) v *= Vector512.Load(scale + p);
                v.Store(d + p);
                p += chunks.Counts[c];
            }
        if (scale == null) for (int j = p; j < k; j++) d[j] = s[idx[j]];
        else for (int j = p; j < k; j++) d[j] = s[idx[j]] * scale[j];
    }

    /// <summary>The transpose of <see cref="Gather"/> for gradients: da[r, :] = 0 but da[r, idx[j]] = ga[r, j]·(scaleA ? s[j] : 1),
    /// and db likewise; either side may be absent (null: that gradient is not needed). Indices must be distinct.</summary>
    public static unsafe void Expand(Matrix? ga, Matrix? gb, int[] idx, float[]? scales, bool scaleA, Matrix? da, Matrix? db)
    {
        int ra = ga?.Rows ?? 0, rb = gb?.Rows ?? 0;
        CheckExpand(ga, da, idx); CheckExpand(gb, db, idx);
        if (ra + rb == 0) return;
        int cols = (da ?? db)!.Value.Cols;
        var chunks = new ChunkMasks(idx, cols);
        Matrix A = ga ?? default, B = gb ?? default, DA = da ?? default, DB = db ?? default;
        Threading.For(ra + rb, (r0, r1) =>
        {
            fixed (float* pa = A.Data, pb = B.Data, pda = DA.Data, pdb = DB.Data, ps = scales)
            fixed (int* pi = idx)
                for (int r = r0; r < r1; r++)
                {
                    bool inA = r < ra;
                    float* src = inA ? pa + A.Offset + (long)r * idx.Length : pb + B.Offset + (long)(r - ra) * idx.Length;
                    float* dst = inA ? pda + DA.Offset + (long)r * cols : pdb + DB.Offset + (long)(r - ra) * cols;
                    ExpandRow(src, pi, idx.Length, inA == scaleA ? ps : null, dst, cols, chunks);
                }
        }, Threading.Grain(cols));
    }

    /// <summary>Scalar reference of <see cref="Expand"/>.</summary>
    public static void ExpandScalar(Matrix? ga, Matrix? gb, int[] idx, float[]? scales, bool scaleA, Matrix? da, Matrix? db)
    {
        CheckExpand(ga, da, idx); CheckExpand(gb, db, idx);
        void One(Matrix g, Matrix d, bool scaled)
        {
            for (int r = 0; r < d.Rows; r++)
            {
                for (int i = 0; i < d.Cols; i++) d.Row(r)[i] = 0;
                for (int j = 0; j < idx.Length; j++) d.Row(r)[idx[j]] = g.Row(r)[j] * (scaled && scales != null ? scales[j] : 1f);
            }
        }
        if (ga is { } a) One(a, da!.Value, scaleA);
        if (gb is { } b) One(b, db!.Value, !scaleA);
    }

    /// <summary>d = 0 but d[idx[j]] = s[j]·(scale[j]): each whole chunk of d is one expand store (zeros in the dropped
    /// lanes); the chunks a 16-float load of s or store into d would overrun are cleared and filled element by element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ExpandRow(float* s, int* idx, int k, float* scale, float* d, int cols, ChunkMasks chunks)
    {
        int p = 0, c = 0;
        if (chunks.Masks != null)
            for (; p + 16 <= k && (c + 1) * 16 <= cols; c++)
            {
                var v = Vector512.Load(s + p);
                if (scale != null) v *= Vector512.Load(scale + p);
                Avx512F.Expand(Vector512<float>.Zero, chunks.Masks[c], v).Store(d + c * 16);
                p += chunks.Counts[c];
            }
        new Span<float>(d + c * 16, cols - c * 16).Clear();
        if (scale == null) for (int j = p; j < k; j++) d[idx[j]] = s[j];
        else for (int j = p; j < k; j++) d[idx[j]] = s[j] * scale[j];
    }

    /// <summary>Per 16-column chunk of a row: an all-ones lane for each kept column, and how many are kept (null masks
    /// without AVX-512, or when the kept columns are too few for whole-chunk passes to beat element loops).</summary>
    readonly struct ChunkMasks
    {
        public readonly Vector512<float>[]? Masks;
        public readonly int[] Counts;

        public ChunkMasks(int[] idx, int cols)
        {
            int n = (cols + 15) / 16;
            Counts = new int[n];
            Masks = null;
            if (!Avx512F.IsSupported || 4L * idx.Length < cols) return;
            var lanes = new int[n * 16];
            foreach (var i in idx) { lanes[i] = -1; Counts[i >> 4]++; }
            Masks = new Vector512<float>[n];
            for (int c = 0; c < n; c++) Masks[c] = Vector512.Create(lanes, c * 16).AsSingle();
        }
    }

    static void CheckSameCols(string op, Matrix a, Matrix b)
    {
        if (a.Cols != b.Cols) throw new ArgumentException($"{op}: operands have {a.Cols} and {b.Cols} columns; the terms must pair up");
        CheckFits(op, a); CheckFits(op, b);
    }

    static void CheckFits(string op, Matrix m)
    {
        if (m.Rows < 0 || m.Cols < 0 || m.Offset < 0 || m.Offset + (long)m.Rows * m.Cols > m.Data.Length)
            throw new ArgumentException($"{op}: a {m.Rows}×{m.Cols} matrix at offset {m.Offset} does not fit {m.Data.Length} floats");
    }

    static void CheckGather(string op, Matrix a, Matrix b, int[] idx, float[]? scales, Matrix ga, Matrix gb)
    {
        CheckSameCols(op, a, b); CheckFits(op, ga); CheckFits(op, gb);
        if (ga.Rows != a.Rows || gb.Rows != b.Rows || ga.Cols != idx.Length || gb.Cols != idx.Length)
            throw new ArgumentException($"{op}: outputs {ga.Rows}×{ga.Cols} and {gb.Rows}×{gb.Cols} for {a.Rows} and {b.Rows} rows of {idx.Length} kept columns");
        if (scales != null && scales.Length != idx.Length) throw new ArgumentException($"{op}: {scales.Length} scales for {idx.Length} kept columns");
        foreach (var i in idx) if ((uint)i >= (uint)a.Cols) throw new ArgumentException($"{op}: column {i} is out of range for {a.Cols} columns");
    }

    static void CheckExpand(Matrix? g, Matrix? d, int[] idx)
    {
        if (g is not { } gm) { if (d != null) throw new ArgumentException("expand_columns: an output without its gradient"); return; }
        if (d is not { } dm) throw new ArgumentException("expand_columns: a gradient without its output");
        CheckFits("expand_columns", gm); CheckFits("expand_columns", dm);
        if (gm.Rows != dm.Rows || gm.Cols != idx.Length)
            throw new ArgumentException($"expand_columns: a {gm.Rows}×{gm.Cols} gradient for {dm.Rows} rows of {idx.Length} kept columns");
        for (int j = 0; j < idx.Length; j++)
            if ((uint)idx[j] >= (uint)dm.Cols || (j > 0 && idx[j] <= idx[j - 1]))
                throw new ArgumentException($"expand_columns: kept columns must be increasing and below {dm.Cols}, got {idx[j]} at {j}");
    }
}
