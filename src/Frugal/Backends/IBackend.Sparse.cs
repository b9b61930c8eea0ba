using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Products with a mostly-zero operand, for the backward pass of a layer whose neural gradient was pruned
/// (Chmiel et al., ICLR 2021; ../shared/METHODS.md section 1; issue 4 item 6). The sparse operand is handed over
/// densely, as the pruning left it: the kernel finds the non-zeros itself, so no sparse format leaks into the ops.
/// Work scales with the number of non-zeros, so the ops call these only below a measured break-even density
/// (<see cref="CountNonZero"/> is the probe). Entries that are exactly zero (either sign) are skipped; unlike a
/// dense GEMM, a skipped zero times an infinite or NaN dense entry contributes nothing.
/// </summary>
public partial interface IBackend
{
    /// <summary>Entries per block of <see cref="CountNonZero"/>'s sample: 256 bytes, four cache lines read together.</summary>
    const int CountBlock = 64;

    /// <summary>
    /// The number of entries of x that are not ±0 (NaN counts as non-zero) among the blocks of <see cref="CountBlock"/>
    /// consecutive entries whose block index is a multiple of <paramref name="every"/>: all of x for every = 1, an evenly
    /// spread sample of about 1/every of it otherwise (the density probe reads only that).
    /// </summary>
    long CountNonZero(Tensor x, int every = 1);

    /// <summary>
    /// C = op(S)·B, or C += op(S)·B when <paramref name="accumulate"/>, row-major and contiguous, where op(S) is m×k
    /// (S is [m, k], or [k, m] when <paramref name="transS"/>), B is [k, n] and C is [m, n]. Costs about
    /// nnz(S)·n multiply-adds plus one pass over S. For a linear layer y = x·Wᵀ with pruned dY [N, out]:
    /// dX = dY·W is (transS false, S = dY, B = W) and dW = dYᵀ·X is (transS true, S = dY, B = X).
    /// </summary>
    void SparseGemm(bool transS, int m, int n, int k, Tensor s, Tensor b, Tensor c, bool accumulate);

    /// <summary>
    /// Both backward products of a convolution with groups = 1 for a mostly-zero gy [N, Cout, OutH, OutW], computed
    /// from gy's non-zeros directly (no im2col, no col2im): dx [N, C, H, W] = the adjoint convolution of gy with
    /// w [Cout, C, kh, kw], and dw [Cout, C, kh, kw] = Σ over images and output pixels of gy times the input window
    /// of x [N, C, H, W]. Both are overwritten; either may be null (x must still give the shape).
    /// </summary>
    void SparseConv2dBackward(Tensor gy, Tensor x, Tensor w, Window2d window, Tensor? dx, Tensor? dw);
}
