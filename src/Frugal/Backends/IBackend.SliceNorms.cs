using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Squared L2 norms of the slices of a tensor along one axis: the column norms ‖X[:,i]‖² and channel
/// norms ‖I[:,c]‖²_F that column-row sampling weighs its columns by (METHODS.md §2), in one read pass
/// instead of a squared copy followed by a reduction.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// With x viewed as [outer, dim, inner] and y as [dim]: y[m] = Σ_o Σ_i x[o, m, i]², accumulated in at least
    /// float precision (the CPU adds float partial sums in double).
    /// </summary>
    void SliceSquaredNorms(Tensor x, int outer, int dim, int inner, Tensor y);
}
