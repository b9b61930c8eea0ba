using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Index kernels: row gathers and scatters along one axis (index_select, index_add) and PyTorch's
/// element-wise gather / scatter_add. Indices are host <c>int[]</c> arrays (a backend uploads them if it
/// needs to). Kernels check that every index lies in range and throw <see cref="ArgumentOutOfRangeException"/>
/// otherwise; ops check first and give the friendlier message.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// With x viewed as [outer, dim, inner] and y as [outer, k, inner] (k = indices.Length):
    /// y[o, j, :] = x[o, indices[j], :]. Indices may repeat.
    /// </summary>
    void IndexSelect(Tensor x, int outer, int dim, int inner, int[] indices, Tensor y);

    /// <summary>
    /// With y viewed as [outer, dim, inner] and src as [outer, k, inner] (k = indices.Length):
    /// y[o, indices[j], :] += src[o, j, :], in place. Repeated indices accumulate, in increasing j
    /// for every element (deterministic).
    /// </summary>
    void IndexAdd(Tensor y, int outer, int dim, int inner, int[] indices, Tensor src);

    /// <summary>
    /// torch.gather: y has the index's shape (same rank as x) and, for every position p of it,
    /// y[p] = x[p with coordinate <paramref name="axis"/> replaced by index[p]]; <paramref name="index"/>
    /// is row-major over y.Shape.
    /// </summary>
    void Gather(Tensor x, int axis, int[] index, Tensor y);

    /// <summary>
    /// torch.Tensor.scatter_add_: for every position p of <paramref name="indexShape"/> (same rank as y and src,
    /// no larger than src in any axis), y[p with coordinate <paramref name="axis"/> replaced by index[p]] += src[p],
    /// in place. Repeated targets accumulate in row-major order of p (deterministic).
    /// </summary>
    void ScatterAdd(Tensor y, int axis, int[] index, Shape indexShape, Tensor src);
}
