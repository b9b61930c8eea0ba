using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// conv2d exactly, with a sampled backward (arXiv 1805.08079 §4; METHODS.md §2, Conv2d): dX sums over output channels,
/// sampled by ‖dY[:,c]‖_F·‖K[c]‖_F, and is the ordinary backward-input of dY[:,S] and K[S]·diag(s); dW sums over images,
/// sampled by ‖X[n]‖_F·‖dY[n]‖_F, and is the ordinary backward-weight of X[B] and dY[B]·diag(s); db stays exact.
/// </summary>
internal sealed class SampledBackwardConv2dFn(ApproxSettings settings, Generator rng, ApproxLayerStats stats, double exactMacsPerPass) : Function
{
    Tensor _x = null!, _w = null!;
    Window2d _win;
    bool _hasBias;

    public Tensor Forward(Tensor x, Tensor w, Tensor? b, (int H, int W) stride, (int H, int W) padding, (int H, int W) dilation)
    {
        _win = Conv.Geometry(x, w, b, stride, padding, 1, dilation);
        Tensor y;
        using (GradMode.NoGrad()) y = x.Conv2d(w, b, stride, padding, 1, dilation);
        _x = x; _w = w; _hasBias = b != null;
        return b == null ? Record(y, x, w) : Record(y, x, w, b);
    }

    public override Tensor?[] Backward(Tensor gy)
    {
        int n = gy.Shape[0], s = _win.OutH * _win.OutW, taps = _win.Taps, c = _x.Shape[1], cout = _w.Shape[0];
        Tensor? gx = null, gw = null, gb = null;
        if (_hasBias && Inputs[2].RequiresGrad)
            gb = Conv.Backward(gy, null, _x.Shape, _w, _win, 1, false, false, true).Gb;
        if (Inputs[0].RequiresGrad)
        {
            var smp = TermSampling.Sample(settings, gy, 1, _w, 0, rng, stats.BackwardInput);
            var gS = smp.IsExact ? gy : TermSampling.Gather(gy, 1, smp, scaled: false);   // [N, k, OH, OW]
            var wS = smp.IsExact ? _w : TermSampling.Gather(_w, 0, smp, scaled: true);    // [k, C, kh, kw], the small one scaled
            gx = Conv.Backward(gS, null, _x.Shape, wS, _win, 1, true, false, false).Gx;
            stats.AddMacs(exactMacsPerPass, (double)n * s * smp.Count * c * taps);
        }
        if (Inputs[1].RequiresGrad)
        {
            var smp = TermSampling.Sample(settings, gy, 0, _x, 0, rng, stats.BackwardWeight);
            bool scaleG = cout * s <= _x.Shape.Prod(1, 4);   // scale the smaller of dY[B] and X[B]
            var gB = smp.IsExact ? gy : TermSampling.Gather(gy, 0, smp, scaled: scaleG);  // [k, Cout, OH, OW]
            var xB = smp.IsExact ? _x : TermSampling.Gather(_x, 0, smp, scaled: !scaleG); // [k, C, H, W]
            gw = Conv.Backward(gB, xB, xB.Shape, _w, _win, 1, false, true, false).Gw;
            stats.AddMacs(exactMacsPerPass, (double)smp.Count * s * cout * c * taps);
        }
        return _hasBias ? [gx, gw, gb] : [gx, gw];
    }
}
