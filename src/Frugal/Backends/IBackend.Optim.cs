using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Fused optimizer updates and the squared norm used by gradient clipping. Each update reads the
/// parameter, its gradient and its state once and writes them back once, in place: one pass per
/// parameter per step instead of the five to eight element-wise passes the unfused formulas need.
/// The scalar references the kernels must agree with are <c>Sgd.Reference</c> and <c>Adam.Reference</c>.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// One torch.optim.SGD step on one parameter, in place. With g = grad + weightDecay·param:
    /// if momentum ≠ 0, buf = firstStep ? g : momentum·buf + (1 − dampening)·g and
    /// d = nesterov ? g + momentum·buf : buf (else d = g); then param −= lr·d.
    /// <paramref name="velocity"/> (the momentum buffer, same shape as param) is required when
    /// momentum ≠ 0 and ignored otherwise; on the first step its old contents are not read.
    /// </summary>
    void SgdStep(Tensor param, Tensor grad, Tensor? velocity, double lr, double momentum, double dampening,
                 double weightDecay, bool nesterov, bool firstStep);

    /// <summary>
    /// One torch.optim.Adam / AdamW step on one parameter, in place; <paramref name="step"/> is the
    /// parameter's step count after this update (1 on the first). Adam adds weightDecay·param to the
    /// gradient (L2); AdamW (<paramref name="decoupledWeightDecay"/>) first shrinks param by
    /// (1 − lr·weightDecay). Then m = β1·m + (1 − β1)·g, v = β2·v + (1 − β2)·g²,
    /// v̂ = amsgrad ? (vmax = max(vmax, v)) : v, and
    /// param −= lr/(1 − β1^step) · m / (√v̂ / √(1 − β2^step) + eps), the bias corrections as PyTorch
    /// computes them (in double, then rounded). <paramref name="maxExpAvgSq"/> non-null means amsgrad.
    /// </summary>
    /// <remarks>Hyperparameters are doubles because PyTorch derives the per-step scalars (lr/(1 − β1^t),
    /// 1 − lr·λ, 1 − β2 …) in double and rounds each to float once; the element-wise math is float.</remarks>
    void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq,
                  double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupledWeightDecay, int step);

    /// <summary>result[index] = Σ x² (accumulated in at least float precision), so the norms of many
    /// tensors land in one device vector and are summed without a host round trip per tensor.</summary>
    void SquaredNorm(Tensor x, Tensor result, int index);
}
