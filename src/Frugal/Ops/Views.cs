using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>Reshape, flatten and leading-axis slices: views that share storage, no copy.</summary>
public static class Views
{
    /// <summary>Same storage, new shape (one dimension may be -1). Autograd-aware.</summary>
    public static Tensor Reshape(this Tensor x, params int[] shape) => new ReshapeFn().Forward(x, Shape.Infer(shape, x.Numel, "reshape"));

    public static Tensor Reshape(this Tensor x, Shape shape) => new ReshapeFn().Forward(x, Shape.Infer(shape.ToArray(), x.Numel, "reshape"));

    /// <summary>Flattens axes [startAxis, endAxis] into one (PyTorch's flatten; default keeps the batch axis).</summary>
    public static Tensor Flatten(this Tensor x, int startAxis = 1, int endAxis = -1)
    {
        if (x.Rank == 0) return x.Reshape(1);
        int s = x.Shape.Axis(startAxis, "flatten"), e = x.Shape.Axis(endAxis, "flatten");
        if (s > e) throw new ArgumentException($"flatten: start axis {startAxis} is after end axis {endAxis} for shape {x.Shape}");
        var dims = new List<int>();
        for (int i = 0; i < s; i++) dims.Add(x.Shape[i]);
        dims.Add(x.Shape.Prod(s, e + 1));
        for (int i = e + 1; i < x.Rank; i++) dims.Add(x.Shape[i]);
        return x.Reshape(dims.ToArray());
    }

    /// <summary>Rows [start, start+length) of the leading axis, as a view. Autograd-aware.</summary>
    public static Tensor Narrow0(this Tensor x, int start, int length)
    {
        if (x.Rank == 0 || start < 0 || length < 0 || start + length > x.Shape[0])
            throw new ArgumentException($"narrow: rows [{start}, {start + length}) are outside the leading axis of shape {x.Shape}");
        return new NarrowFn().Forward(x, start, length);
    }

    /// <summary>A view with another shape of the same size, without autograd (for kernels and backward passes).</summary>
    public static Tensor View(this Tensor x, Shape shape)
    {
        if (shape.Numel != x.Numel) throw new ArgumentException($"view: shape {shape} does not hold the {x.Numel} elements of {x.Shape}");
        return new Tensor(shape, x.Storage, x.Offset);
    }

    sealed class ReshapeFn : Function
    {
        Shape _in;
        public Tensor Forward(Tensor x, Shape shape)
        {
            _in = x.Shape;
            return Record(x.View(shape), x);
        }
        public override Tensor?[] Backward(Tensor g) => [g.View(_in)];
    }

    sealed class NarrowFn : Function
    {
        Shape _in;
        int _start;
        public Tensor Forward(Tensor x, int start, int length)
        {
            _in = x.Shape; _start = start;
            var dims = x.Shape.ToArray(); dims[0] = length;
            int row = x.Shape.Prod(1, x.Rank);
            return Record(new Tensor(new Shape(dims), x.Storage, x.Offset + start * row), x);
        }
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = Tensor.Zeros(_in, g.Device);
            int row = _in.Prod(1, _in.Rank);
            g.Backend.CopyBlocks(g, 0, 0, gx, _start * row, 0, g.Numel, 1);
            return [gx];
        }
    }
}
