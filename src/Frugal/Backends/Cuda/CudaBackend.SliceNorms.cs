using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Slice norms (IBackend.SliceNorms.cs) from the backend's own kernels: square, sum over the inner axis, then over the
// outer one. Three launches instead of the CPU's one pass; a fused kernel can replace it once measured on a GPU.
public sealed partial class CudaBackend
{
    public void SliceSquaredNorms(Tensor x, int outer, int dim, int inner, Tensor y)
    {
        if (x.Numel != (long)outer * dim * inner || y.Numel != dim)
            throw new ArgumentException($"slice_squared_norms: x has {x.Numel} elements, expected {outer}·{dim}·{inner}; y has {y.Numel}, expected {dim}");
        if (x.Numel == 0) { Fill(y, 0); return; }
        var squares = Tensor.Uninitialized(new Shape(x.Numel), Device);
        Map(UnaryOp.Square, x, squares);
        var rows = Tensor.Uninitialized(new Shape(outer * dim), Device);
        Reduce(ReduceOp.Sum, squares, outer * dim, inner, 1, rows);
        Reduce(ReduceOp.Sum, rows, 1, outer, dim, y);
    }
}
