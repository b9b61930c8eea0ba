using Frugal.Autograd;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// y = X[:,S]·(W[:,S]·diag(s))ᵀ + b as one autograd node on the CPU (forward sampling, arXiv 1805.08079 §4;
/// METHODS.md §2): the kept columns of X and W are gathered, the scale folded into the smaller operand, in one pass
/// (<see cref="ColumnPasses.Gather"/>); backward runs the two small GEMMs dX[:,S] = dY·W_S and dW[:,S] = dYᵀ·X_S and
/// writes the full-width gradients, zero outside S, in one more pass (<see cref="ColumnPasses.Expand"/>). The same
/// product through index_select, a scale multiply and linear costs three more nodes, their tensors, a zero fill and an
/// index-add per operand.
/// </summary>
internal sealed class SampledInputsLinearFn(ColumnSample sample, bool scaleX) : Function
{
    Tensor _xs = null!, _ws = null!;
    bool _hasBias;
    Shape _xShape, _wShape;

    public Tensor Forward(Tensor x, Tensor w, Tensor? b)
    {
        int n = x.Shape[0], outF = w.Shape[0], k = sample.Count;
        var xs = Tensor.Uninitialized(new Shape(n, k), x.Device);
        var ws = Tensor.Uninitialized(new Shape(outF, k), x.Device);
        long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        ColumnPasses.Gather(Host(x), Host(w), sample.Indices, sample.Scales, scaleX, Host(xs), Host(ws));
        if (t0 != 0) Profiler.Add("approx: gather", t0);
        Tensor y;
        using (GradMode.NoGrad()) y = xs.Linear(ws, b);
        _hasBias = b != null;
        _xShape = x.Shape; _wShape = w.Shape;
        if (NeedsGrad(x, w) || (b?.RequiresGrad ?? false)) { _xs = xs; _ws = ws; }
        return b == null ? Record(y, x, w) : Record(y, x, w, b);
    }

    public override Tensor?[] Backward(Tensor g)
    {
        int n = g.Shape[0], outF = g.Shape[1], k = sample.Count;
        bool needX = Inputs[0].RequiresGrad, needW = Inputs[1].RequiresGrad;
        Tensor? gxs = null, gws = null, gx = null, gw = null, gb = null;
        if (needX) { gxs = Tensor.Uninitialized(new Shape(n, k), g.Device); MatMul.Gemm(g, false, _ws, false, gxs); }    // dY·W_S
        if (needW) { gws = Tensor.Uninitialized(new Shape(outF, k), g.Device); MatMul.Gemm(g, true, _xs, false, gws); }  // dYᵀ·X_S
        if (needX) gx = Tensor.Uninitialized(_xShape, g.Device);
        if (needW) gw = Tensor.Uninitialized(_wShape, g.Device);
        long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        // ∂/∂X[:,S] of X_S·diag(s) is ·diag(s) when X carries the scale, and likewise for W.
        ColumnPasses.Expand(gxs == null ? null : Host(gxs), gws == null ? null : Host(gws), sample.Indices, sample.Scales, scaleX,
            gx == null ? null : Host(gx), gw == null ? null : Host(gw));
        if (t0 != 0) Profiler.Add("approx: scatter", t0);
        if (_hasBias && Inputs[2].RequiresGrad) gb = g.SumTo(new Shape(outF));
        return _hasBias ? [gx, gw, gb] : [gx, gw];
    }

    /// <summary>Whether the fused path applies: every operand a 2-D host (CPU) tensor.</summary>
    public static bool Supports(Tensor x, Tensor w) => x.Storage.HostArray != null && w.Storage.HostArray != null;

    static ColumnPasses.Matrix Host(Tensor t) => new(t.Storage.HostArray!, t.Offset, t.Shape[0], t.Shape[1]);
}
