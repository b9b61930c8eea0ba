using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Sparse-operand products on the CPU (IBackend.Sparse.cs; pruned neural gradients, ../shared/METHODS.md section 1).
/// The zeros are found with 16-lane compares (one mask per 16 floats, then the set bits), so a mostly-zero operand costs
/// one streaming pass plus work per non-zero. The products run in AVX-512 registers: row by row, a 128-float tile of a
/// row of C is 8 accumulators fed by one load and one FMA per 16 floats (without AVX-512, a 64-float tile in 8 256-bit
/// registers, since 8 emulated 512-bit accumulators would not fit); column by column, a 64-float tile of a row of B is
/// held in 4 registers (Vector512, two 256-bit halves where AVX-512 is missing) and added into every row of C that the
/// column touches. Even so a non-zero costs ~2–5× the time of a multiply-add inside OpenBLAS's
/// dense GEMM (random access instead of packed panels), so the sparse path pays only below ~15–40% density (docs/RESULTS.md).
/// </summary>
public sealed partial class CpuBackend
{
    public unsafe long CountNonZero(Tensor x, int every = 1)
    {
        if (every < 1) throw new ArgumentException($"count_nonzero: every must be at least 1, got {every}");
        var xd = Data(x);
        int xo = x.Offset, n = x.Numel;
        if (every > 1)
        {
            // A sample of whole blocks: a few thousand at most, one thread.
            long sampled = 0;
            fixed (float* p = xd)
                for (long b = 0; b * IBackend.CountBlock < n; b += every)
                    sampled += CountNonZero(p + xo + b * IBackend.CountBlock, (int)Math.Min(IBackend.CountBlock, n - b * IBackend.CountBlock));
            return sampled;
        }
        long total = 0;
        Threading.For(x.Numel, (s, e) =>
        {
            long c;
            fixed (float* p = xd) c = CountNonZero(p + xo + s, e - s);
            Interlocked.Add(ref total, c);
        }, CountGrain);
        return total;
    }

    /// <summary>Counting streams memory at a few floats per cycle: below a million floats a thread hand-off costs more than it saves.</summary>
    const int CountGrain = 1 << 20;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe int CountNonZero(float* p, int n)
    {
        int c = 0, i = 0;
        for (; i <= n - 16; i += 16) c += BitOperations.PopCount(NonZeroMask(p + i));
        for (; i < n; i++) if (p[i] != 0) c++;
        return c;
    }

    /// <summary>Bit j set when p[j] is not ±0, for j &lt; 16 (NaN is non-zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe uint NonZeroMask(float* p) =>
        ~(uint)Vector512.Equals(Vector512.Load(p), Vector512<float>.Zero).ExtractMostSignificantBits() & 0xFFFF;

    /// <summary>The same for the last <paramref name="n"/> &lt; 16 floats of a row.</summary>
    static unsafe uint NonZeroMask(float* p, int n)
    {
        uint m = 0;
        for (int j = 0; j < n; j++) if (p[j] != 0) m |= 1u << j;
        return m;
    }

    // ---- C (+)= op(S)·B ------------------------------------------------------------------------------------

    /// <summary>Width of the C tile one work item owns: 8 AVX-512 accumulators.</summary>
    const int SparseTile = 128;

    public unsafe void SparseGemm(bool transS, int m, int n, int k, Tensor s, Tensor b, Tensor c, bool accumulate)
    {
        if (m < 0 || n < 0 || k < 0 || s.Numel != (long)m * k || b.Numel != (long)k * n || c.Numel != (long)m * n)
            throw new ArgumentException($"sparse_gemm: op(S) {m}x{k} · B {k}x{n} → C {m}x{n} does not match S {s.Shape}, B {b.Shape}, C {c.Shape}");
        if (m == 0 || n == 0) return;
        if (m <= ScatterMaxRows) { ScatterGemm(transS, m, n, k, s, b, c, accumulate); return; }
        SparseRows csr;
        fixed (float* ps = Data(s)) csr = SparseRows.Compress(ps + s.Offset, transS, m, k);
        try
        {
            var bd = Data(b); var cd = Data(c);
            int bo = b.Offset, co = c.Offset;
            // Items are (column tile, block of rows), tile-major: a thread's contiguous items share a slab of B's
            // columns, which then stays in its core's cache across all rows.
            int tiles = (n + SparseTile - 1) / SparseTile;
            int rowBlocks = Math.Clamp((4 * Threading.Threads + tiles - 1) / tiles, 1, m);
            int rowsPer = (m + rowBlocks - 1) / rowBlocks;
            long work = (csr.NonZeros + m) * (long)n;
            int items = tiles * rowBlocks;
            Threading.For(items, (i0, i1) => GemmItems(csr, bd, bo, cd, co, m, n, k, rowBlocks, rowsPer, i0, i1, accumulate), Threading.Grain(work / items));
        }
        finally { csr.Return(); }
    }

    /// <summary>
    /// C with at most this many rows is computed column of op(S) by column (outer products): a 64-float column tile of
    /// all of C (32 KiB at 128 rows, summed in a contiguous buffer) stays in L1, each row of B is read once per tile, and a
    /// non-zero costs one load, FMA and store per 16 floats. Row by row, every non-zero reads a row of B at a random place,
    /// and B's slab must first be packed (see <see cref="GemmItems"/>): for dX of the mlp's 1024-wide layer (m = 128) that
    /// copy is 4 MB, and the column order measured about as fast per non-zero with a fixed cost of 0.14 instead of 0.5 ms
    /// (one thread, CPU time). Taller C (dW, m = out) does not fit L1 and goes row by row, where B (the input) is small.
    /// </summary>
    const int ScatterMaxRows = 128;
    const int ScatterTile = 64;
    const int PrefetchRows = 4;

    unsafe void ScatterGemm(bool transS, int m, int n, int k, Tensor s, Tensor b, Tensor c, bool accumulate)
    {
        // Column kk of op(S) = row kk of S for transS (S is [k, m]), else column kk of S [m, k].
        SparseRows cols;
        fixed (float* ps = Data(s)) cols = SparseRows.Compress(ps + s.Offset, !transS, k, m);
        try
        {
            var bd = Data(b); var cd = Data(c);
            int bo = b.Offset, co = c.Offset, tiles = (n + ScatterTile - 1) / ScatterTile;
            long work = (cols.NonZeros + m + k) * (long)ScatterTile;
            Threading.For(tiles, (t0, t1) => ScatterTiles(cols, bd, bo, cd, co, m, n, k, t0, t1, accumulate), Threading.Grain(work));
        }
        finally { cols.Return(); }
    }

    /// <summary>Column tiles [t0, t1) of C (64 floats each): C[r, tile] (+)= Σ_kk op(S)[r, kk]·B[kk, tile] in the order of kk.
    /// The tile is summed in a contiguous buffer and copied out at the end: in place its rows would sit a row of C apart,
    /// all in the same few L1 sets when that is a multiple of 4 KiB (1024 floats), and the tile would not stay in L1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ScatterTiles(SparseRows cols, float[] bd, int bo, float[] cd, int co, int m, int n, int k, int t0, int t1, bool accumulate)
    {
        var tile = ArrayPool<float>.Shared.Rent(m * ScatterTile);
        fixed (float* pb = bd, pc = cd, pv = cols.Value, pt = tile)
        fixed (int* pi = cols.Index, ps = cols.Start)
            for (int t = t0; t < t1; t++)
            {
                int j0 = t * ScatterTile, w = Math.Min(ScatterTile, n - j0);
                float* c0 = pc + co + j0;
                if (accumulate)
                    for (int r = 0; r < m; r++) new Span<float>(c0 + (long)r * n, w).CopyTo(new Span<float>(pt + (long)r * w, w));
                else new Span<float>(pt, m * w).Clear();
                for (int kk = 0; kk < k; kk++)
                {
                    // B's rows are a row of B apart (4 KiB for the 1024-wide layers): too far for the hardware
                    // prefetcher, so ask for the tile of the row a few steps ahead while this one is summed.
                    if (Sse.IsSupported && kk + PrefetchRows < k)
                    {
                        float* ahead = pb + bo + (long)(kk + PrefetchRows) * n + j0;
                        for (int l = 0; l < w; l += 16) Sse.Prefetch0(ahead + l);
                    }
                    int e0 = ps[kk], q = ps[kk + 1] - e0;
                    if (q == 0) continue;
                    float* brow = pb + bo + (long)kk * n + j0;
                    if (w == ScatterTile) ScatterRow64(pt, w, brow, pi + e0, pv + e0, q);
                    else
                        for (int e = e0; e < e0 + q; e++) Axpy(pt + (long)pi[e] * w, brow, pv[e], w);
                }
                for (int r = 0; r < m; r++) new Span<float>(pt + (long)r * w, w).CopyTo(new Span<float>(c0 + (long)r * n, w));
            }
        ArrayPool<float>.Shared.Return(tile);
    }

    /// <summary>c[idx[e]·ldc + (0, 64)] += val[e]·b[0, 64) for e &lt; q, with b's 64 floats held in 4 registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void ScatterRow64(float* c, int ldc, float* b, int* idx, float* val, int q)
    {
        Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16), b2 = Vector512.Load(b + 32), b3 = Vector512.Load(b + 48);
        for (int e = 0; e < q; e++)
        {
            float* r = c + (long)idx[e] * ldc;
            var v = Vector512.Create(val[e]);
            Vector512.FusedMultiplyAdd(v, b0, Vector512.Load(r)).Store(r);
            Vector512.FusedMultiplyAdd(v, b1, Vector512.Load(r + 16)).Store(r + 16);
            Vector512.FusedMultiplyAdd(v, b2, Vector512.Load(r + 32)).Store(r + 32);
            Vector512.FusedMultiplyAdd(v, b3, Vector512.Load(r + 48)).Store(r + 48);
        }
    }

    /// <summary>
    /// Work items [i0, i1) of <see cref="SparseGemm"/>: item it is column tile it / rowBlocks and row block it % rowBlocks.
    /// The tile's slab of B (k rows of up to 128 floats) is first copied into a contiguous buffer: read in place, its rows
    /// sit a whole row of B apart, and for power-of-two widths (1024 floats = 4 KiB) they all fall into the same few cache
    /// sets, and the slab that should stay in L2 does not (measured for dW of the mlp's 1024-wide layer at 15% density,
    /// one thread, CPU time: 1.3 ms with the copy, 1.9 ms without; no difference at widths 784 and 3136).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void GemmItems(SparseRows csr, float[] bd, int bo, float[] cd, int co, int m, int n, int k, int rowBlocks, int rowsPer,
        int i0, int i1, bool accumulate)
    {
        var slab = ArrayPool<float>.Shared.Rent(Math.Max(1, k * Math.Min(SparseTile, n)));
        fixed (float* pb = bd, pc = cd, pv = csr.Value, ps0 = slab)
        fixed (int* pi = csr.Index, ps = csr.Start)
            for (int it = i0; it < i1; it++)
            {
                int j0 = it / rowBlocks * SparseTile, w = Math.Min(SparseTile, n - j0);
                int r0 = it % rowBlocks * rowsPer, r1 = Math.Min(m, r0 + rowsPer);
                for (int kk = 0; kk < k; kk++)
                    Buffer.MemoryCopy(pb + bo + (long)kk * n + j0, ps0 + (long)kk * w, (long)w * sizeof(float), (long)w * sizeof(float));
                for (int r = r0; r < r1; r++)
                {
                    int e0 = ps[r];
                    CombineRows(pc + co + (long)r * n + j0, ps0, w, pi + e0, pv + e0, ps[r + 1] - e0, w, accumulate);
                }
            }
        ArrayPool<float>.Shared.Return(slab);
    }

    /// <summary>c[0, w) = (accumulate ? c : 0) + Σ_e val[e]·b[idx[e]·ldb + (0, w)]: the row of C in tiles of 128, 64, 16 and single floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void CombineRows(float* c, float* b, int ldb, int* idx, float* val, int q, int w, bool accumulate)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 128 <= w; j += 128) Combine128(c + j, b + j, ldb, idx, val, q, accumulate);
            for (; j + 64 <= w; j += 64) Combine64(c + j, b + j, ldb, idx, val, q, accumulate);
        }
        else
            for (; j + 64 <= w; j += 64) Combine64Avx2(c + j, b + j, ldb, idx, val, q, accumulate);
        for (; j + 16 <= w; j += 16) Combine16(c + j, b + j, ldb, idx, val, q, accumulate);
        for (; j < w; j++)
        {
            float a = accumulate ? c[j] : 0;
            for (int e = 0; e < q; e++) a += val[e] * b[(long)idx[e] * ldb + j];
            c[j] = a;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Combine128(float* c, float* b, int ldb, int* idx, float* val, int q, bool accumulate)
    {
        Vector512<float> a0, a1, a2, a3, a4, a5, a6, a7;
        if (accumulate)
        {
            a0 = Vector512.Load(c); a1 = Vector512.Load(c + 16); a2 = Vector512.Load(c + 32); a3 = Vector512.Load(c + 48);
            a4 = Vector512.Load(c + 64); a5 = Vector512.Load(c + 80); a6 = Vector512.Load(c + 96); a7 = Vector512.Load(c + 112);
        }
        else a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = Vector512<float>.Zero;
        for (int e = 0; e < q; e++)
        {
            var v = Vector512.Create(val[e]);
            float* r = b + (long)idx[e] * ldb;
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r), a0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 48), a3);
            a4 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 64), a4);
            a5 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 80), a5);
            a6 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 96), a6);
            a7 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 112), a7);
        }
        a0.Store(c); a1.Store(c + 16); a2.Store(c + 32); a3.Store(c + 48);
        a4.Store(c + 64); a5.Store(c + 80); a6.Store(c + 96); a7.Store(c + 112);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Combine64(float* c, float* b, int ldb, int* idx, float* val, int q, bool accumulate)
    {
        Vector512<float> a0, a1, a2, a3;
        if (accumulate) { a0 = Vector512.Load(c); a1 = Vector512.Load(c + 16); a2 = Vector512.Load(c + 32); a3 = Vector512.Load(c + 48); }
        else a0 = a1 = a2 = a3 = Vector512<float>.Zero;
        for (int e = 0; e < q; e++)
        {
            var v = Vector512.Create(val[e]);
            float* r = b + (long)idx[e] * ldb;
            a0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r), a0);
            a1 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(v, Vector512.Load(r + 48), a3);
        }
        a0.Store(c); a1.Store(c + 16); a2.Store(c + 32); a3.Store(c + 48);
    }

    /// <summary><see cref="Combine64"/> in 256-bit registers (8 accumulators), for CPUs without AVX-512, where the
    /// 128-float tile's 8 emulated 512-bit accumulators would not fit the 16 registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Combine64Avx2(float* c, float* b, int ldb, int* idx, float* val, int q, bool accumulate)
    {
        Vector256<float> a0, a1, a2, a3, a4, a5, a6, a7;
        if (accumulate)
        {
            a0 = Vector256.Load(c); a1 = Vector256.Load(c + 8); a2 = Vector256.Load(c + 16); a3 = Vector256.Load(c + 24);
            a4 = Vector256.Load(c + 32); a5 = Vector256.Load(c + 40); a6 = Vector256.Load(c + 48); a7 = Vector256.Load(c + 56);
        }
        else a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = Vector256<float>.Zero;
        for (int e = 0; e < q; e++)
        {
            var v = Vector256.Create(val[e]);
            float* r = b + (long)idx[e] * ldb;
            a0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r), a0); a1 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 8), a1);
            a2 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 16), a2); a3 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 24), a3);
            a4 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 32), a4); a5 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 40), a5);
            a6 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 48), a6); a7 = Vector256.FusedMultiplyAdd(v, Vector256.Load(r + 56), a7);
        }
        a0.Store(c); a1.Store(c + 8); a2.Store(c + 16); a3.Store(c + 24);
        a4.Store(c + 32); a5.Store(c + 40); a6.Store(c + 48); a7.Store(c + 56);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static unsafe void Combine16(float* c, float* b, int ldb, int* idx, float* val, int q, bool accumulate)
    {
        var a0 = accumulate ? Vector512.Load(c) : Vector512<float>.Zero;
        for (int e = 0; e < q; e++)
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(val[e]), Vector512.Load(b + (long)idx[e] * ldb), a0);
        a0.Store(c);
    }

    /// <summary>
    /// Compressed rows of op(S) (CSR): the non-zeros of row r are Index/Value[Start[r], Start[r+1]), in increasing
    /// column order, so every product sums in a fixed order. Arrays come from the shared pool and go back with <see cref="Return"/>.
    /// </summary>
    internal sealed class SparseRows
    {
        public int[] Start = null!, Index = null!;
        public float[] Value = null!;
        public long NonZeros;

        /// <summary>op(S) = S [m, k], or Sᵀ for S [k, m] when transposed (its rows are S's columns).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static unsafe SparseRows Compress(float* p, bool transposed, int m, int k) =>
            Avx512F.IsSupported ? CompressAvx512(p, transposed, m, k) : CompressScalar(p, transposed, m, k);

        /// <summary>
        /// <see cref="Compress"/> in one pass, 16 entries of a row of op(S) at a time: a row of S is loaded, a row of Sᵀ
        /// gathered (stride m, two 8-lane gathers), and the non-zeros and their column numbers packed to the front of two registers
        /// (vcompressps/vpcompressd, register form) that are stored whole at the row's running end; the next store
        /// overwrites the unused lanes, and the arrays carry 16 entries of slack for the last one. The per-non-zero loop
        /// of <see cref="CompressScalar"/> (a bit scan, a counter in memory) cost ~29 cycles per non-zero: on the cnn's
        /// 32→32 layer at 15% density its two compressions took 4.8 of a thread's 16 ms.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static unsafe SparseRows CompressAvx512(float* p, bool transposed, int m, int k)
        {
            long capacity = (long)m * k + Vector512<float>.Count;
            if (capacity > Array.MaxLength) return CompressScalar(p, transposed, m, k);
            var r = new SparseRows
            {
                Start = ArrayPool<int>.Shared.Rent(m + 1),
                Index = ArrayPool<int>.Shared.Rent((int)capacity),
                Value = ArrayPool<float>.Shared.Rent((int)capacity),
            };
            var lane = Vector512<int>.Indices;
            var stride8 = Vector256<int>.Indices * m;   // entry j + t of a row of Sᵀ lies (j + t)·m past its column's top
            bool gatherable = (long)m * k <= int.MaxValue;
            fixed (int* start = r.Start, index = r.Index)
            fixed (float* value = r.Value)
            {
                int o = 0;
                for (int i = 0; i < m; i++)
                {
                    start[i] = o;
                    int j = 0;
                    if (!transposed || gatherable)
                        for (; j <= k - 16; j += 16)
                        {
                            var v = transposed
                                ? Vector512.Create(Avx2.GatherVector256(p + i, stride8 + Vector256.Create(j * m), 4),
                                                   Avx2.GatherVector256(p + i, stride8 + Vector256.Create((j + 8) * m), 4))
                                : Vector512.Load(p + (long)i * k + j);
                            var nonZero = ~Vector512.Equals(v, Vector512<float>.Zero);
                            Avx512F.Compress(Vector512<float>.Zero, nonZero, v).Store(value + o);
                            Avx512F.Compress(Vector512<int>.Zero, nonZero.AsInt32(), lane + Vector512.Create(j)).Store(index + o);
                            o += BitOperations.PopCount(nonZero.ExtractMostSignificantBits());
                        }
                    for (; j < k; j++)
                    {
                        float v = transposed ? p[(long)j * m + i] : p[(long)i * k + j];
                        if (v != 0) { index[o] = j; value[o] = v; o++; }
                    }
                }
                start[m] = o;
                r.NonZeros = o;
            }
            return r;
        }

        /// <summary><see cref="Compress"/> without AVX-512: count, then fill through a bit scan of each 16-float mask.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal static unsafe SparseRows CompressScalar(float* p, bool transposed, int m, int k)
        {
            var r = new SparseRows { Start = ArrayPool<int>.Shared.Rent(m + 1) };
            fixed (int* start = r.Start)
            {
                start[0] = 0;
                if (!transposed)
                    for (int i = 0; i < m; i++) start[i + 1] = CountNonZero(p + (long)i * k, k);
                else
                {
                    // Column counts of S [k, m], row by row: only the non-zeros cost more than a compare.
                    new Span<int>(start, m + 1).Clear();
                    var count = new CountColumns { Start = start };
                    for (int i = 0; i < k; i++) ForNonZeros(p + (long)i * m, m, ref count);
                }
                for (int i = 0; i < m; i++) start[i + 1] += start[i];
                int nnz = start[m];
                r.NonZeros = nnz;
                r.Index = ArrayPool<int>.Shared.Rent(Math.Max(1, nnz));
                r.Value = ArrayPool<float>.Shared.Rent(Math.Max(1, nnz));
                var next = ArrayPool<int>.Shared.Rent(m + 1);
                fixed (int* pi = r.Index, pn = next)
                fixed (float* pv = r.Value)
                {
                    new Span<int>(start, m + 1).CopyTo(new Span<int>(pn, m + 1));
                    var fill = new Fill { Next = pn, Index = pi, Value = pv, Transposed = transposed };
                    if (!transposed)
                        for (int i = 0; i < m; i++) { fill.Row = i; ForNonZeros(p + (long)i * k, k, ref fill); }
                    else
                        for (int i = 0; i < k; i++) { fill.Row = i; ForNonZeros(p + (long)i * m, m, ref fill); }
                }
                ArrayPool<int>.Shared.Return(next);
            }
            return r;
        }

        /// <summary>
        /// The same entries listed by column: the rows of Sᵀ [k, m] from these rows of S [m, k], by a counting sort (entries
        /// per column, prefix sums, then one scatter in row order, so each new row lists its columns in increasing order, as
        /// <see cref="Compress"/> does). Compressing Sᵀ from the dense matrix gathers at stride m, a cache line for every
        /// entry read; the sort reads only the non-zeros, twice.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public unsafe SparseRows Transpose(int m, int k)
        {
            int nnz = (int)NonZeros;
            var t = new SparseRows
            {
                Start = ArrayPool<int>.Shared.Rent(k + 1),
                Index = ArrayPool<int>.Shared.Rent(Math.Max(1, nnz)),
                Value = ArrayPool<float>.Shared.Rent(Math.Max(1, nnz)),
                NonZeros = nnz,
            };
            var next = ArrayPool<int>.Shared.Rent(k);
            fixed (int* start = Start, index = Index, tStart = t.Start, tIndex = t.Index, pNext = next)
            fixed (float* value = Value, tValue = t.Value)
            {
                new Span<int>(tStart, k + 1).Clear();
                for (int e = 0; e < nnz; e++) tStart[index[e] + 1]++;
                for (int j = 0; j < k; j++) tStart[j + 1] += tStart[j];
                new Span<int>(tStart, k).CopyTo(new Span<int>(pNext, k));
                for (int i = 0; i < m; i++)
                    for (int e = start[i], end = start[i + 1]; e < end; e++)
                    {
                        int at = pNext[index[e]]++;
                        tIndex[at] = i;
                        tValue[at] = value[e];
                    }
            }
            ArrayPool<int>.Shared.Return(next);
            return t;
        }

        public void Return()
        {
            ArrayPool<int>.Shared.Return(Start);
            ArrayPool<int>.Shared.Return(Index);
            ArrayPool<float>.Shared.Return(Value);
        }

        unsafe struct CountColumns : INonZeroVisitor
        {
            public int* Start;
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Visit(int j, float v) => Start[j + 1]++;
        }

        /// <summary>Appends (column, value) to the current row of op(S): S's row for S, column j's list for Sᵀ.</summary>
        unsafe struct Fill : INonZeroVisitor
        {
            public int* Next, Index;
            public float* Value;
            public int Row;
            public bool Transposed;
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Visit(int j, float v)
            {
                int o = Transposed ? Next[j]++ : Next[Row]++;
                Index[o] = Transposed ? Row : j;
                Value[o] = v;
            }
        }
    }

    interface INonZeroVisitor { void Visit(int j, float v); }

    /// <summary>Calls visitor.Visit(j, p[j]) for every non-zero p[j], j &lt; n, in increasing j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void ForNonZeros<T>(float* p, int n, ref T visitor) where T : struct, INonZeroVisitor
    {
        int j = 0;
        for (; j <= n - 16; j += 16)
            for (uint mask = NonZeroMask(p + j); mask != 0; mask &= mask - 1)
            {
                int t = j + BitOperations.TrailingZeroCount(mask);
                visitor.Visit(t, p[t]);
            }
        for (uint mask = NonZeroMask(p + j, n - j); mask != 0; mask &= mask - 1)
        {
            int t = j + BitOperations.TrailingZeroCount(mask);
            visitor.Visit(t, p[t]);
        }
    }
}
