using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// 2-D max, average and adaptive average pooling over [N, C, H, W] (PyTorch's semantics, ceil_mode = false).
/// Max pooling keeps the argmax positions on the device for its backward scatter.
/// </summary>
public static class Pooling
{
    /// <summary>Max over kernel×kernel windows; stride defaults to the kernel; padding counts as −∞ and must be ≤ kernel/2.</summary>
    public static Tensor MaxPool2d(this Tensor x, int kernel, int? stride = null, int padding = 0) =>
        x.MaxPool2d((kernel, kernel), stride is int s ? (s, s) : null, (padding, padding));

    public static Tensor MaxPool2d(this Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default) =>
        new MaxPoolFn().Forward(x, Window("max_pool2d", x, kernel, stride ?? kernel, padding));

    /// <summary>Mean over kernel×kernel windows with zero padding; the divisor counts the padding when
    /// <paramref name="countIncludePad"/> (PyTorch's default), else only the pixels inside the input.</summary>
    public static Tensor AvgPool2d(this Tensor x, int kernel, int? stride = null, int padding = 0, bool countIncludePad = true) =>
        x.AvgPool2d((kernel, kernel), stride is int s ? (s, s) : null, (padding, padding), countIncludePad);

    public static Tensor AvgPool2d(this Tensor x, (int H, int W) kernel, (int H, int W)? stride = null, (int H, int W) padding = default,
        bool countIncludePad = true) =>
        new AvgPoolFn().Forward(x, Window("avg_pool2d", x, kernel, stride ?? kernel, padding), countIncludePad);

    /// <summary>Averages into an outH×outW grid; bin i of an axis of length L covers [⌊i·L/out⌋, ⌈(i+1)·L/out⌉).</summary>
    public static Tensor AdaptiveAvgPool2d(this Tensor x, int outH, int outW) => new AdaptiveAvgPoolFn().Forward(x, outH, outW);

    public static Tensor AdaptiveAvgPool2d(this Tensor x, int outSize) => x.AdaptiveAvgPool2d(outSize, outSize);

    static Window2d Window(string op, Tensor x, (int H, int W) k, (int H, int W) s, (int H, int W) p)
    {
        if (x.Rank != 4) throw new ArgumentException($"{op}: expected input [N, C, H, W], got {x.Shape}");
        if (k.H <= 0 || k.W <= 0 || s.H <= 0 || s.W <= 0)
            throw new ArgumentException($"{op}: kernel {k} and stride {s} must be positive");
        // PyTorch's rule: with more padding a window could lie entirely in the padding.
        if (p.H < 0 || p.W < 0 || p.H > k.H / 2 || p.W > k.W / 2)
            throw new ArgumentException($"{op}: padding {p} must be between 0 and half the kernel {k}");
        int h = x.Shape[2], w = x.Shape[3];
        if (k.H > h + 2 * p.H || k.W > w + 2 * p.W)
            throw new ArgumentException($"{op}: kernel {k.H}x{k.W} is larger than the padded input {h + 2 * p.H}x{w + 2 * p.W} of {x.Shape}");
        return new Window2d(h, w, k.H, k.W, s.H, s.W, p.H, p.W);
    }

    static Shape OutShape(Tensor x, int oh, int ow) => new(x.Shape[0], x.Shape[1], oh, ow);

    sealed class MaxPoolFn : Function
    {
        Tensor _indices = null!;
        Shape _in;
        Window2d _win;

        public Tensor Forward(Tensor x, Window2d win)
        {
            _win = win; _in = x.Shape;
            // Argmax positions travel as float32, exact below 2²⁴.
            if ((long)win.Height * win.Width > 1 << 24)
                throw new ArgumentException($"max_pool2d: planes of {win.Height}x{win.Width} exceed the 2^24 pixels the argmax buffer can index");
            // The kernel writes every output and index, so neither needs a zero-fill.
            var y = Tensor.Uninitialized(OutShape(x, win.OutH, win.OutW), x.Device);
            var idx = NeedsGrad(x) ? Tensor.Uninitialized(y.Shape, x.Device) : null;
            x.Backend.MaxPool2d(x, win, y, idx);
            if (idx != null) _indices = idx;
            return Record(y, x);
        }

        // dx[argmax] += dy: the gradient goes to the (first) maximal pixel of each window.
        public override Tensor?[] Backward(Tensor gy)
        {
            var gx = Tensor.Uninitialized(_in, gy.Device);   // overwritten by the kernel (IBackend.MaxPool2dBackward)
            gy.Backend.MaxPool2dBackward(gy, _indices, _win, gx);
            return [gx];
        }
    }

    sealed class AvgPoolFn : Function
    {
        Shape _in;
        Window2d _win;
        bool _countIncludePad;

        public Tensor Forward(Tensor x, Window2d win, bool countIncludePad)
        {
            _win = win; _in = x.Shape; _countIncludePad = countIncludePad;
            var y = Tensor.Empty(OutShape(x, win.OutH, win.OutW), x.Device);
            x.Backend.AvgPool2d(x, win, countIncludePad, y);
            return Record(y, x);
        }

        // y = Σ_window x / divisor, so each pixel of a window receives dy / divisor.
        public override Tensor?[] Backward(Tensor gy)
        {
            var gx = Tensor.Empty(_in, gy.Device);
            gy.Backend.AvgPool2dBackward(gy, _win, _countIncludePad, gx);
            return [gx];
        }
    }

    sealed class AdaptiveAvgPoolFn : Function
    {
        Shape _in;

        public Tensor Forward(Tensor x, int outH, int outW)
        {
            if (x.Rank != 4) throw new ArgumentException($"adaptive_avg_pool2d: expected input [N, C, H, W], got {x.Shape}");
            if (outH <= 0 || outW <= 0) throw new ArgumentException($"adaptive_avg_pool2d: output size {outH}x{outW} must be positive");
            if (x.Shape[2] == 0 || x.Shape[3] == 0) throw new ArgumentException($"adaptive_avg_pool2d: input {x.Shape} has an empty plane");
            _in = x.Shape;
            var y = Tensor.Empty(OutShape(x, outH, outW), x.Device);
            x.Backend.AdaptiveAvgPool2d(x, y);
            return Record(y, x);
        }

        public override Tensor?[] Backward(Tensor gy)
        {
            var gx = Tensor.Empty(_in, gy.Device);
            gy.Backend.AdaptiveAvgPool2dBackward(gy, gx);
            return [gx];
        }
    }
}
