using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// The forward-sampled convolution y = Σ_{j∈S} conv(x[:, j], w[:, j]·s_j) + b (METHODS.md §2, Conv2d) run by the
/// backend's direct kernels on the full tensors: the kept channels are read while the kernel pads them, and dX, dW are
/// written at full width, zero outside S. Gathering x[:, S] and w[:, S] first (<see cref="TermSampling.Gather"/>) copies
/// the kept half of the activation once forward and scatters both gradients back once more; this does neither.
/// Gradients: dX[:, j] = s_j·(dY ⋆ flipped w[:, j]), dW[:, j] = s_j·Σ_n dY ⋆ x[:, j] for j ∈ S, db exact.
/// </summary>
internal sealed class SampledInputsConv2dFn : Function
{
    Tensor _x = null!, _w = null!;
    Window2d _win;
    ChannelSubset _subset = null!;
    bool _hasBias;

    /// <summary>y, or null when the backend has no direct kernel for this window (the caller gathers instead).</summary>
    public static Tensor? TryForward(Tensor x, Tensor w, Tensor? b, Window2d win, ChannelSubset subset)
    {
        var y = Tensor.Uninitialized(new Shape(x.Shape[0], w.Shape[0], win.OutH, win.OutW), x.Device);
        if (!x.Backend.TryConv2dDirect(x, w, b, win, y, subset)) return null;
        var fn = new SampledInputsConv2dFn { _x = x, _w = w, _win = win, _subset = subset, _hasBias = b != null };
        return b == null ? fn.Record(y, x, w) : fn.Record(y, x, w, b);
    }

    public override Tensor?[] Backward(Tensor gy)
    {
        var be = gy.Backend;
        Tensor? gx = null, gw = null, gb = null;
        // The forward took the direct kernel for this window, so both gradients' kernels apply too.
        if (Inputs[0].RequiresGrad)
        {
            gx = Tensor.Uninitialized(_x.Shape, gy.Device);
            if (!be.TryConv2dBackwardDataDirect(gy, _w, _win, gx, _subset)) throw new InvalidOperationException("conv2d backward: no direct kernel for the sampled input gradient");
        }
        if (Inputs[1].RequiresGrad)
        {
            gw = Tensor.Uninitialized(_w.Shape, gy.Device);
            if (!be.TryConv2dBackwardWeightDirect(gy, _x, _win, gw, _subset)) throw new InvalidOperationException("conv2d backward: no direct kernel for the sampled weight gradient");
        }
        if (_hasBias && Inputs[2].RequiresGrad)
            gb = Conv.Backward(gy, null, _x.Shape, _w, _win, 1, false, false, true).Gb;
        return _hasBias ? [gx, gw, gb] : [gx, gw];
    }
}
