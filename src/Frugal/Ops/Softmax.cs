using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Softmax and log-softmax along one axis, each one fused backend kernel over [outer, dim, inner]
/// (numerically stable: the maximum is subtracted before exp) and one for its backward.
/// </summary>
public static class SoftmaxOps
{
    /// <summary>exp(x)/Σexp(x) along <paramref name="axis"/>.</summary>
    public static Tensor Softmax(this Tensor x, int axis) => new SoftmaxFn(log: false).Forward(x, axis);

    /// <summary>x − log Σexp(x) along <paramref name="axis"/>.</summary>
    public static Tensor LogSoftmax(this Tensor x, int axis) => new SoftmaxFn(log: true).Forward(x, axis);

    sealed class SoftmaxFn(bool log) : Function
    {
        Tensor _y = null!;
        int _outer, _dim, _inner;

        public Tensor Forward(Tensor x, int axis)
        {
            int ax = x.Shape.Axis(axis, log ? "log_softmax" : "softmax");
            _outer = x.Shape.Prod(0, ax); _dim = x.Shape[ax]; _inner = x.Shape.Prod(ax + 1, x.Rank);
            var y = Arithmetic.NewLike(x);
            x.Backend.Softmax(x, _outer, _dim, _inner, log, y);
            if (NeedsGrad(x)) _y = y;
            return Record(y, x);
        }

        // softmax: gx = y·(g − Σ g·y);  log-softmax: gx = g − softmax·Σ g  (sums along the axis).
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = Arithmetic.NewLike(g);
            g.Backend.SoftmaxBackward(_y, g, _outer, _dim, _inner, log, gx);
            return [gx];
        }
    }
}
