using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Frugal.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Index kernels on the CPU. index_select is on the hot path of the column-row samplers, which gather
/// kept columns of [N, d] (inner = 1: one strided gather per row) and kept channels of [N, C, H, W]
/// (inner = H·W: block copies). Consecutive indices are merged into runs so sorted selections become
/// few long copies; a dense, sorted column selection uses AVX-512 compress (measured on the 2-core
/// EPYC: 128×1024 keeping 512 columns, 11 µs vs 18 µs for the scalar gather, which does ~3.5 G elements/s).
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>Below this many floats per copied block, an element loop beats a memmove call per block.</summary>
    const int MinBlock = 16;

    public unsafe void IndexSelect(Tensor x, int outer, int dim, int inner, int[] indices, Tensor y)
    {
        int k = indices.Length;
        CheckIndices("index_select", indices, dim);
        CheckSizes("index_select", x, (long)outer * dim * inner, y, (long)outer * k * inner);
        if (outer == 0 || k == 0 || inner == 0) return;
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        var (runSrc, runDst, runLen) = Runs(indices);
        int nRuns = runSrc.Length;
        long blockFloats = (long)k * inner / nRuns;

        if (blockFloats < MinBlock && inner == 1 && Avx512F.IsSupported && 4L * k >= dim && StrictlyIncreasing(indices))
        {
            // Sorted distinct columns in short runs, at least a quarter of them: compress whole 16-float chunks
            // of each row by a keep-mask. Below a quarter the per-chunk cost over the full row loses to the gather.
            var (masks, counts) = ChunkMasks(indices, dim);
            Threading.For(outer, (o0, o1) =>
            {
                fixed (float* px = xd, py = yd)
                fixed (int* pi = indices, pc = counts)
                fixed (Vector512<float>* pm = masks)
                    for (int o = o0; o < o1; o++)
                        CompressRow(px + xo + (long)o * dim, pm, pc, pi, py + yo + (long)o * k, k);
            }, Threading.Grain(dim));
            return;
        }

        if (blockFloats < MinBlock)
        {
            // Short runs: one gather per row. Rows are independent, so split over outer.
            int grain = Threading.Grain((long)k * inner);
            Threading.For(outer, (o0, o1) =>
            {
                fixed (float* px = xd, py = yd)
                fixed (int* pi = indices)
                {
                    for (int o = o0; o < o1; o++)
                    {
                        float* s = px + xo + (long)o * dim * inner;
                        float* d = py + yo + (long)o * k * inner;
                        if (inner == 1) GatherRow(s, pi, d, k);
                        else
                            for (int j = 0; j < k; j++, d += inner)
                            {
                                float* sj = s + (long)pi[j] * inner;
                                for (int i = 0; i < inner; i++) d[i] = sj[i];
                            }
                    }
                }
            }, grain);
            return;
        }

        // Long runs: one copy per (row, run); split over those items so that a single large row
        // (outer = 1, e.g. rows of a matrix selected along axis 0) still uses every core.
        Threading.For(outer * nRuns, (i0, i1) =>
        {
            int o = i0 / nRuns, r = i0 % nRuns;
            for (int it = i0; it < i1; it++)
            {
                int n = runLen[r] * inner;
                xd.AsSpan(xo + (o * dim + runSrc[r]) * inner, n).CopyTo(yd.AsSpan(yo + (o * k + runDst[r]) * inner, n));
                if (++r == nRuns) { r = 0; o++; }
            }
        }, Threading.Grain(blockFloats));
    }

    /// <summary>d[j] = s[idx[j]] for j &lt; k, unrolled by four (independent loads keep the pipeline full;
    /// hardware gathers are no faster for 4-byte elements on the CPUs we measured).</summary>
    static unsafe void GatherRow(float* s, int* idx, float* d, int k)
    {
        int j = 0;
        for (; j <= k - 4; j += 4)
        {
            float a = s[idx[j]], b = s[idx[j + 1]], c = s[idx[j + 2]], e = s[idx[j + 3]];
            d[j] = a; d[j + 1] = b; d[j + 2] = c; d[j + 3] = e;
        }
        for (; j < k; j++) d[j] = s[idx[j]];
    }

    /// <summary>d[j] = s[idx[j]] for sorted distinct idx: chunk c of s contributes its masked lanes, packed,
    /// at the running output position. A full 16-float store would run past the row's end in the last
    /// chunks (and into another thread's row), so those finish with the scalar gather on the remaining indices.</summary>
    static unsafe void CompressRow(float* s, Vector512<float>* masks, int* counts, int* idx, float* d, int k)
    {
        int p = 0, c = 0;
        for (; p + 16 <= k; c++)
        {
            Avx512F.Compress(Vector512<float>.Zero, masks[c], Vector512.Load(s + c * 16)).Store(d + p);
            p += counts[c];
        }
        GatherRow(s, idx + p, d + p, k - p);
    }

    /// <summary>d[idx[j]] += s[j] for sorted distinct idx: the mirror of <see cref="CompressRow"/> with expand.</summary>
    static unsafe void ExpandAddRow(float* s, Vector512<float>* masks, int* counts, int* idx, float* d, int k)
    {
        int p = 0, c = 0;
        for (; p + 16 <= k; c++)
        {
            var m = masks[c];
            var dv = Vector512.Load(d + c * 16);
            // Blend rather than add zeros to the other lanes: −0 + 0 would turn an untouched −0 into +0.
            Vector512.ConditionalSelect(m, dv + Avx512F.Expand(Vector512<float>.Zero, m, Vector512.Load(s + p)), dv).Store(d + c * 16);
            p += counts[c];
        }
        for (int j = p; j < k; j++) d[idx[j]] += s[j];
    }

    /// <summary>Per 16-column chunk of [0, dim): an all-ones lane for each kept column, and the number kept.</summary>
    static (Vector512<float>[] Masks, int[] Counts) ChunkMasks(int[] indices, int dim)
    {
        int chunks = (dim + 15) / 16;
        var lanes = new int[chunks * 16];
        var counts = new int[chunks];
        foreach (var i in indices) { lanes[i] = -1; counts[i >> 4]++; }
        var masks = new Vector512<float>[chunks];
        for (int c = 0; c < chunks; c++) masks[c] = Vector512.Create(lanes, c * 16).AsSingle();
        return (masks, counts);
    }

    static bool StrictlyIncreasing(int[] idx)
    {
        for (int j = 1; j < idx.Length; j++) if (idx[j] <= idx[j - 1]) return false;
        return true;
    }

    public unsafe void IndexAdd(Tensor y, int outer, int dim, int inner, int[] indices, Tensor src)
    {
        int k = indices.Length;
        CheckIndices("index_add", indices, dim);
        CheckSizes("index_add", y, (long)outer * dim * inner, src, (long)outer * k * inner);
        if (outer == 0 || k == 0 || inner == 0) return;
        var yd = Data(y); var sd = Data(src);
        int yo = y.Offset, so = src.Offset;
        long work = (long)outer * k * inner;

        if (outer < 4 * Threading.Threads && work >= Threading.ParallelThreshold && inner >= MinBlock && Unique(indices, dim))
        {
            // Few large rows and no repeated target: every (o, j) writes a different block, so split over those.
            Threading.For(outer * k, (i0, i1) =>
            {
                for (int it = i0; it < i1; it++)
                {
                    int o = it / k, j = it % k;
                    var dst = yd.AsSpan(yo + (o * dim + indices[j]) * inner, inner);
                    TensorPrimitives.Add(dst, sd.AsSpan(so + it * inner, inner), dst);
                }
            }, Threading.Grain(inner));
            return;
        }

        if (inner == 1 && Avx512F.IsSupported && 4L * k >= dim && StrictlyIncreasing(indices))
        {
            var (masks, counts) = ChunkMasks(indices, dim);
            Threading.For(outer, (o0, o1) =>
            {
                fixed (float* py = yd, ps = sd)
                fixed (int* pi = indices, pc = counts)
                fixed (Vector512<float>* pm = masks)
                    for (int o = o0; o < o1; o++)
                        ExpandAddRow(ps + so + (long)o * k, pm, pc, pi, py + yo + (long)o * dim, k);
            }, Threading.Grain(dim));
            return;
        }

        // Rows o are disjoint in y; within a row, j runs in order, so duplicates add up deterministically.
        Threading.For(outer, (o0, o1) =>
        {
            fixed (float* py = yd, ps = sd)
            fixed (int* pi = indices)
            {
                for (int o = o0; o < o1; o++)
                {
                    float* d = py + yo + (long)o * dim * inner;
                    float* s = ps + so + (long)o * k * inner;
                    if (inner == 1)
                        for (int j = 0; j < k; j++) d[pi[j]] += s[j];
                    else if (inner < MinBlock)
                        for (int j = 0; j < k; j++, s += inner)
                        {
                            float* dj = d + (long)pi[j] * inner;
                            for (int i = 0; i < inner; i++) dj[i] += s[i];
                        }
                    else
                        for (int j = 0; j < k; j++, s += inner)
                        {
                            var dst = new Span<float>(d + (long)pi[j] * inner, inner);
                            TensorPrimitives.Add(dst, new ReadOnlySpan<float>(s, inner), dst);
                        }
                }
            }
        }, Threading.Grain((long)k * inner));
    }

    public void Gather(Tensor x, int axis, int[] index, Tensor y)
    {
        var ish = y.Shape;
        int r = ish.Rank, n = ish.Numel;
        if (index.Length != n) throw new ArgumentException($"gather: {index.Length} indices for an output of shape {ish}");
        if (x.Rank != r || !FitsOutside(ish, x.Shape, axis)) throw new ArgumentException($"gather: output {ish} does not fit input {x.Shape} outside axis {axis}");
        CheckIndices("gather", index, x.Shape[axis]);
        if (n == 0) return;
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        var xs = Strides(x.Shape);
        int last = ish[r - 1], rows = n / last, step = xs[axis];
        Threading.For(rows, (r0, r1) =>
        {
            // Odometer over all axes but the last; base = offset in x without the indexed axis.
            var c = new int[r];
            int bx = RowStart(ish, xs, axis, r0, c);
            for (int row = r0; row < r1; row++)
            {
                int p = row * last, yb = yo + p, xb = xo + bx;
                if (axis == r - 1) for (int j = 0; j < last; j++) yd[yb + j] = xd[xb + index[p + j]];
                else for (int j = 0; j < last; j++) yd[yb + j] = xd[xb + index[p + j] * step + j];
                bx = NextRow(ish, xs, axis, c, bx);
            }
        }, Threading.Grain(last));
    }

    public void ScatterAdd(Tensor y, int axis, int[] index, Shape indexShape, Tensor src)
    {
        int r = indexShape.Rank, n = indexShape.Numel;
        if (index.Length != n) throw new ArgumentException($"scatter_add: {index.Length} indices for index shape {indexShape}");
        if (y.Rank != r || src.Rank != r || !FitsOutside(indexShape, y.Shape, axis) || !FitsOutside(indexShape, src.Shape, -1))
            throw new ArgumentException($"scatter_add: index {indexShape} does not fit output {y.Shape} outside axis {axis} or src {src.Shape}");
        CheckIndices("scatter_add", index, y.Shape[axis]);
        if (n == 0) return;
        var yd = Data(y); var sd = Data(src);
        int yo = y.Offset, so = src.Offset;
        var ys = Strides(y.Shape); var ss = Strides(src.Shape);
        int last = indexShape[r - 1], rows = n / last, step = ys[axis];

        void Body(int r0, int r1)
        {
            var cy = new int[r]; var cs = new int[r];
            int by = RowStart(indexShape, ys, axis, r0, cy), bs = RowStart(indexShape, ss, -1, r0, cs);
            for (int row = r0; row < r1; row++)
            {
                int p = row * last, yb = yo + by, sb = so + bs;
                if (axis == r - 1) for (int j = 0; j < last; j++) yd[yb + index[p + j]] += sd[sb + j];
                else for (int j = 0; j < last; j++) yd[yb + index[p + j] * step + j] += sd[sb + j];
                by = NextRow(indexShape, ys, axis, cy, by);
                bs = NextRow(indexShape, ss, -1, cs, bs);
            }
        }

        // Positions with different leading coordinates write disjoint parts of y unless the leading axis is
        // the indexed one; split over it then, keeping row-major order within each part (deterministic).
        if (axis != 0 && r >= 2)
        {
            int perLead = rows / indexShape[0];
            Threading.For(indexShape[0], (a0, a1) => Body(a0 * perLead, a1 * perLead),
                Threading.Grain((long)perLead * last));
        }
        else Body(0, rows);
    }

    // ---- helpers ------------------------------------------------------------------------------

    /// <summary>The pointer loops trust these sizes, so a wrong caller must fail here rather than write out of bounds.</summary>
    internal static void CheckSizes(string op, Tensor a, long aExpected, Tensor b, long bExpected)
    {
        if (a.Numel != aExpected || b.Numel != bExpected)
            throw new ArgumentException($"{op}: tensors of {a.Numel} and {b.Numel} elements for views of {aExpected} and {bExpected}");
    }

    /// <summary>Whether every axis of <paramref name="inner"/> but <paramref name="skip"/> is no longer than in <paramref name="outer"/> (same rank).</summary>
    internal static bool FitsOutside(Shape inner, Shape outer, int skip)
    {
        for (int d = 0; d < inner.Rank; d++) if (d != skip && inner[d] > outer[d]) return false;
        return true;
    }

    internal static void CheckIndices(string op, int[] indices, int dim)
    {
        foreach (var i in indices)
            if ((uint)i >= (uint)dim)
                throw new ArgumentOutOfRangeException(nameof(indices), $"{op}: index {i} is out of range for an axis of size {dim}");
    }

    /// <summary>Maximal runs of consecutive indices (idx[j+1] = idx[j] + 1): source start, destination start, length.</summary>
    static (int[] Src, int[] Dst, int[] Len) Runs(int[] idx)
    {
        int n = idx.Length == 0 ? 0 : 1;
        for (int j = 1; j < idx.Length; j++) if (idx[j] != idx[j - 1] + 1) n++;
        var src = new int[n]; var dst = new int[n]; var len = new int[n];
        for (int j = 0, r = -1; j < idx.Length; j++)
        {
            if (j == 0 || idx[j] != idx[j - 1] + 1) { r++; src[r] = idx[j]; dst[r] = j; }
            len[r]++;
        }
        return (src, dst, len);
    }

    static bool Unique(int[] idx, int dim)
    {
        var seen = new bool[dim];
        foreach (var i in idx)
        {
            if (seen[i]) return false;
            seen[i] = true;
        }
        return true;
    }

    internal static int[] Strides(Shape s)
    {
        var st = new int[s.Rank];
        for (int i = s.Rank - 1, acc = 1; i >= 0; i--) { st[i] = acc; acc *= s[i]; }
        return st;
    }

    /// <summary>Coordinates (over all axes but the last of <paramref name="shape"/>) of row
    /// <paramref name="row"/> into <paramref name="c"/>, and their offset under <paramref name="strides"/>
    /// leaving out axis <paramref name="skip"/> (-1: none).</summary>
    static int RowStart(Shape shape, int[] strides, int skip, int row, int[] c)
    {
        int off = 0;
        for (int d = shape.Rank - 2; d >= 0; d--)
        {
            c[d] = row % shape[d];
            row /= shape[d];
            if (d != skip) off += c[d] * strides[d];
        }
        return off;
    }

    /// <summary>Advances the row odometer <paramref name="c"/> by one; returns the new offset.</summary>
    static int NextRow(Shape shape, int[] strides, int skip, int[] c, int off)
    {
        for (int d = shape.Rank - 2; d >= 0; d--)
        {
            if (d != skip) off += strides[d];
            if (++c[d] < shape[d]) break;
            if (d != skip) off -= strides[d] * shape[d];
            c[d] = 0;
        }
        return off;
    }
}
