using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Optim;

/// <summary>
/// Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_: the norm is taken over all
/// gradients together, and if it exceeds maxNorm every gradient is scaled by maxNorm/(norm + 1e-6).
/// The squared norms are computed on each tensor's device into one vector per device, summed there,
/// and read back once per device.
/// </summary>
public static class GradClip
{
    /// <summary>Clips the gradients of <paramref name="parameters"/> in place (those without one are skipped)
    /// and returns their total L2 norm before clipping (0 when there are none). A NaN or infinite norm
    /// is an error when <paramref name="errorIfNonfinite"/>; otherwise, as in PyTorch, it propagates into the gradients.</summary>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, bool errorIfNonfinite = false)
    {
        if (!(maxNorm >= 0)) throw new ArgumentException($"clip_grad_norm: max norm must be ≥ 0, got {maxNorm}");
        var grads = parameters.Select(p => p.Grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        using var _ = GradMode.NoGrad();
        double sumSq = 0;
        foreach (var group in grads.GroupBy(g => g.Device))
        {
            var list = group.ToList();
            var norms = Tensor.Zeros(new Shape(list.Count), group.Key);
            var be = norms.Backend;
            for (int i = 0; i < list.Count; i++) be.SquaredNorm(list[i], norms, i);
            var total = Tensor.Zeros(new Shape(1), group.Key);
            be.Reduce(ReduceOp.Sum, norms, 1, list.Count, 1, total);
            sumSq += total.Item();
        }
        double norm = Math.Sqrt(sumSq);
        if (errorIfNonfinite && !double.IsFinite(norm))
            throw new InvalidOperationException($"clip_grad_norm: the total norm of {grads.Count} gradients is {norm}; set errorIfNonfinite: false to clip anyway");
        double coef = maxNorm / (norm + 1e-6);
        // PyTorch multiplies by clamp(coef, max=1): a no-op when coef ≥ 1, and NaN spreads on a NaN norm.
        if (!(coef >= 1))
            foreach (var g in grads) g.Backend.Map(UnaryOp.Affine, g, g, (float)coef, 0);
        return norm;
    }
}
