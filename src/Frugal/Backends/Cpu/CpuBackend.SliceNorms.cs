using Frugal.Tensors;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Slice norms on the CPU. Long slices (conv channels: inner = H·W) are summed per (row, slice) block and split
/// over slices; short ones (matrix columns: inner = 1) accumulate whole rows into a float vector per chunk of
/// columns, so every row is read once, contiguously.
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>From this many floats per block on, per-block sums beat row accumulation.</summary>
    const int LongSlice = 64;

    public void SliceSquaredNorms(Tensor x, int outer, int dim, int inner, Tensor y)
    {
        CheckSizes("slice_squared_norms", x, (long)outer * dim * inner, y, dim);
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        if (dim == 0) return;
        if (outer == 0 || inner == 0) { yd.AsSpan(yo, dim).Clear(); return; }
        if (inner >= LongSlice)
        {
            Threading.For(dim, (m0, m1) =>
            {
                for (int m = m0; m < m1; m++)
                {
                    double total = 0;
                    for (int o = 0; o < outer; o++) total += SumOfSquares(xd.AsSpan(xo + (o * dim + m) * inner, inner));
                    yd[yo + m] = (float)total;
                }
            }, Threading.Grain((long)outer * inner));
            return;
        }
        // Short slices: acc[j] = Σ_o x[o, j]² over the flat row j ∈ [0, dim·inner), then groups of inner summed.
        int row = dim * inner;
        var acc = new float[row];
        Threading.For(row, (j0, j1) =>
        {
            var a = acc.AsSpan(j0, j1 - j0);
            for (int o = 0; o < outer; o++)
            {
                var r = xd.AsSpan(xo + o * row + j0, j1 - j0);
                TensorPrimitives.MultiplyAdd(r, r, a, a);
            }
        }, Threading.Grain(outer));
        for (int m = 0; m < dim; m++)
        {
            double total = 0;
            for (int i = 0; i < inner; i++) total += acc[m * inner + i];
            yd[yo + m] = (float)total;
        }
    }
}
