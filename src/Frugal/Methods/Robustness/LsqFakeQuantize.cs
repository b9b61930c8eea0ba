using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Methods.Robustness;

/// <summary>
/// Fake quantisation with a straight-through estimator and a learnable step (LSQ, Esser et al., ICLR 2020, eq. 3–5;
/// ../shared/METHODS.md §5): v̂ = clamp(round(v/s), −Q_N, Q_P)·s. Backward: ∂v̂/∂v = 1 inside [−Q_N·s, Q_P·s], 0 outside
/// (STE); ∂v̂/∂s = round(v/s) − v/s inside, −Q_N below, Q_P above, times the gradient scale g = 1/√(N·Q_P) (N: the
/// weights of the tensor, or an activation's features per example), so the step learns at the weights' pace.
/// Computed on the host (a download and an upload on a GPU): one pass forward, one backward.
/// </summary>
public static class LsqFakeQuantize
{
    /// <param name="x">Values to quantise.</param>
    /// <param name="step">Scalar step s &gt; 0; its gradient is computed when it requires grad.</param>
    /// <param name="quantizer">Bits and signedness (the codes −Q_N..Q_P).</param>
    /// <param name="gradScale">g of the step's gradient (1 = the plain derivative of the estimator).</param>
    public static Tensor Apply(Tensor x, Tensor step, UniformQuantizer quantizer, float gradScale = 1) =>
        new Fn().Forward(x, step, quantizer, gradScale);

    /// <summary>LSQ's g = 1/√(N·Q_P) for a tensor of <paramref name="elements"/> values per example (or weights).</summary>
    public static float GradScale(long elements, UniformQuantizer q) => (float)(1 / Math.Sqrt((double)elements * q.Qp));

    sealed class Fn : Function
    {
        float[]? _x;
        float _step, _gradScale;
        UniformQuantizer _q;

        public Tensor Forward(Tensor x, Tensor step, UniformQuantizer q, float gradScale)
        {
            if (step.Numel != 1) throw new ArgumentException($"lsq fake quantize: step must be a scalar, got shape {step.Shape}");
            float s = step.Item();
            if (!(s > 0) || !float.IsFinite(s)) throw new ArgumentException($"lsq fake quantize: step must be positive and finite, got {s}");
            var data = x.ToArray();
            var y = new float[data.Length];
            q.Quantize(data, s, y);
            var output = Tensor.FromArray(y, x.Shape, x.Device);
            if (NeedsGrad(x, step)) { _x = data; _step = s; _q = q; _gradScale = gradScale; }
            return Record(output, x, step);
        }

        public override Tensor?[] Backward(Tensor gradOutput)
        {
            var g = gradOutput.ToArray();
            var x = _x!;
            var dx = new float[x.Length];
            float inv = 1 / _step, lo = -_q.Qn, hi = _q.Qp;
            double ds = 0;
            for (int i = 0; i < x.Length; i++)
            {
                float u = x[i] * inv;
                if (u < lo) ds += g[i] * lo;
                else if (u > hi) ds += g[i] * hi;
                else { dx[i] = g[i]; ds += g[i] * (MathF.Round(u) - u); }
            }
            _x = null;
            var xIn = Inputs[0];
            return [xIn.RequiresGrad ? Tensor.FromArray(dx, xIn.Shape, xIn.Device) : null,
                    Inputs[1].RequiresGrad ? Tensor.FromArray([(float)(ds * _gradScale)], Inputs[1].Shape, Inputs[1].Device) : null];
        }
    }
}
