using Frugal.Autograd;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// y = x·Wᵀ + b exactly, with a sampled backward (arXiv 1805.08079 §4, backward sampling; METHODS.md §2):
/// dX = dY·W sums over output features j, sampled by ‖dY[:,j]‖·‖W[j,:]‖; dW = dYᵀ·X sums over examples b, sampled by
/// ‖dY[b,:]‖·‖X[b,:]‖; db = Σ_b dY[b,:] stays exact. Unbiased samplers keep SGD's convergence guarantees.
/// </summary>
internal sealed class SampledBackwardLinearFn(ApproxSettings settings, Generator rng, ApproxLayerStats stats, double exactMacsPerPass) : Function
{
    Tensor _x = null!, _w = null!;
    bool _hasBias;

    public Tensor Forward(Tensor x, Tensor w, Tensor? b)
    {
        Tensor y;
        using (GradMode.NoGrad()) y = x.Linear(w, b);
        _x = x; _w = w; _hasBias = b != null;
        return b == null ? Record(y, x, w) : Record(y, x, w, b);
    }

    public override Tensor?[] Backward(Tensor g)
    {
        int n = g.Shape[0], outF = g.Shape[1], inF = _w.Shape[1];
        Tensor? gx = null, gw = null, gb = null;
        if (Inputs[0].RequiresGrad)
        {
            var s = TermSampling.Sample(settings, g, 1, _w, 0, rng, stats.BackwardInput);
            bool scaleG = n <= inF;   // scale the smaller of dY[:,S] [N, k] and W[S,:] [k, in]
            var gS = s.IsExact ? g : TermSampling.Gather(g, 1, s, scaled: scaleG);     // [N, k]
            var wS = s.IsExact ? _w : TermSampling.Gather(_w, 0, s, scaled: !scaleG);  // [k, in]
            gx = Tensor.Uninitialized(new Shape(n, inF), g.Device);
            MatMul.Gemm(gS, false, wS, false, gx);
            stats.AddMacs(exactMacsPerPass, (double)n * s.Count * inF);
        }
        if (Inputs[1].RequiresGrad)
        {
            var s = TermSampling.Sample(settings, g, 0, _x, 0, rng, stats.BackwardWeight);
            bool scaleG = outF <= inF;   // scale the smaller of dY[B,:] [k, out] and X[B,:] [k, in]
            var gB = s.IsExact ? g : TermSampling.Gather(g, 0, s, scaled: scaleG);     // [k, out]
            var xB = s.IsExact ? _x : TermSampling.Gather(_x, 0, s, scaled: !scaleG);  // [k, in]
            gw = Tensor.Uninitialized(new Shape(outF, inF), g.Device);
            MatMul.Gemm(gB, true, xB, false, gw);
            stats.AddMacs(exactMacsPerPass, (double)s.Count * outF * inF);
        }
        if (_hasBias && Inputs[2].RequiresGrad) gb = g.SumTo(new Shape(outF));
        return _hasBias ? [gx, gw, gb] : [gx, gw];
    }
}
