using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>
/// Feeds a chosen neural gradient to a layer's output, so a gradient method's real per-layer path (its forward hook,
/// its gradient hook, the figures it reports) runs on a gradient whose distribution the test knows exactly.
/// </summary>
static class SyntheticGradients
{
    /// <summary>
    /// Register after the method's <c>Attach</c>. The layer's output y gets a copy y·1 downstream, whose gradient hook
    /// discards the real gradient and returns <paramref name="gradient"/>; the multiply by 1 passes it to y unchanged,
    /// where the method's hook (registered on y first) sees exactly it. <paramref name="seen"/> gets the gradient after
    /// the method's hook: what the layer's backward GEMMs see.
    /// </summary>
    public static void Inject(Module layer, Func<Tensor> gradient, Action<Tensor>? seen = null)
    {
        layer.RegisterForwardHook((m, y) =>
        {
            if (!m.Training || !y.RequiresGrad) return y;
            if (seen != null) y.RegisterHook(g => { seen(g); return g; });
            var copy = y.Mul(1f);
            copy.RegisterHook(g =>
            {
                var replacement = gradient();
                if (replacement.Shape != g.Shape) throw new InvalidOperationException($"synthetic gradient {replacement.Shape} for an output of {g.Shape}");
                return replacement;
            });
            return copy;
        });
    }
}
