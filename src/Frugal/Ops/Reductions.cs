using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>Sum, mean and max over axes. Each reduced axis is one backend pass over [outer, mid, inner].</summary>
public static class Reductions
{
    public static Tensor Sum(this Tensor x) => x.Sum(AllAxes(x), keepDim: false);
    public static Tensor Sum(this Tensor x, int axis, bool keepDim = false) => x.Sum([axis], keepDim);
    public static Tensor Sum(this Tensor x, int[] axes, bool keepDim = false) => new SumFn().Forward(x, axes, keepDim);

    public static Tensor Mean(this Tensor x) => x.Mean(AllAxes(x));
    public static Tensor Mean(this Tensor x, int axis, bool keepDim = false) => x.Mean([axis], keepDim);
    public static Tensor Mean(this Tensor x, int[] axes, bool keepDim = false)
    {
        int count = 1;
        foreach (var a in Normalize(x.Shape, axes, "mean")) count *= x.Shape[a];
        return x.Sum(axes, keepDim).Mul(count == 0 ? float.NaN : 1f / count);
    }

    /// <summary>Maximum over one axis; the gradient goes to the first maximal element.</summary>
    public static Tensor Max(this Tensor x, int axis, bool keepDim = false) => new MaxFn().Forward(x, axis, keepDim);

    /// <summary>Index of the first maximum along an axis (no gradient).</summary>
    public static int[] ArgMax(this Tensor x, int axis)
    {
        int ax = x.Shape.Axis(axis, "argmax");
        return x.Backend.ArgMax(x, x.Shape.Prod(0, ax), x.Shape[ax], x.Shape.Prod(ax + 1, x.Rank));
    }

    static int[] AllAxes(Tensor x) => Enumerable.Range(0, x.Rank).ToArray();

    static int[] Normalize(Shape s, int[] axes, string op)
    {
        var res = axes.Select(a => s.Axis(a, op)).Distinct().Order().ToArray();
        if (res.Length != axes.Length) throw new ArgumentException($"{op}: repeated axis in [{string.Join(", ", axes)}] for shape {s}");
        return res;
    }

    /// <summary>Sums x over the given (sorted, distinct) axes, keeping them as size 1. No autograd.</summary>
    internal static Tensor SumKeep(Tensor x, int[] axes)
    {
        var cur = x;
        var dims = x.Shape.ToArray();
        // Merge runs of adjacent reduced axes into one pass.
        for (int i = 0; i < axes.Length;)
        {
            int j = i;
            while (j + 1 < axes.Length && axes[j + 1] == axes[j] + 1) j++;
            int from = axes[i], to = axes[j] + 1;
            var cs = new Shape(dims);
            int outer = cs.Prod(0, from), mid = cs.Prod(from, to), inner = cs.Prod(to, dims.Length);
            for (int a = from; a < to; a++) dims[a] = 1;
            var y = Tensor.Empty(new Shape(dims), x.Device);
            x.Backend.Reduce(ReduceOp.Sum, cur, outer, mid, inner, y);
            cur = y;
            i = j + 1;
        }
        return cur;
    }

    /// <summary>Sums a broadcast gradient back to <paramref name="shape"/> (leading axes dropped,
    /// stretched axes of size 1 summed). No autograd; used by backward passes.</summary>
    public static Tensor SumTo(this Tensor g, Shape shape)
    {
        if (g.Shape == shape) return g;
        int lead = g.Rank - shape.Rank;
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (shape[i - lead] == 1 && g.Shape[i] != 1)) axes.Add(i);
        var r = SumKeep(g, axes.ToArray());
        return r.View(shape);
    }

    sealed class SumFn : Function
    {
        Shape _inShape, _keptShape;

        public Tensor Forward(Tensor x, int[] axes, bool keepDim)
        {
            var ax = Normalize(x.Shape, axes, "sum");
            var y = SumKeep(x, ax);
            _inShape = x.Shape; _keptShape = y.Shape;
            if (!keepDim) y = y.View(new Shape(x.Shape.ToArray().Where((_, i) => !ax.Contains(i)).ToArray()));
            return Record(y, x);
        }

        public override Tensor?[] Backward(Tensor g)
        {
            return [Expand(g.View(_keptShape), _inShape)];
        }
    }

    /// <summary>Materialises a broadcast of x to shape (no autograd).</summary>
    internal static Tensor Expand(Tensor x, Shape shape)
    {
        if (x.Shape == shape) return x;
        var y = Tensor.Empty(shape, x.Device);
        x.Backend.Zip(BinaryOp.Add, y, x, y);
        return y;
    }

    sealed class MaxFn : Function
    {
        Shape _inShape;
        int[] _arg = [];
        int _outer, _mid, _inner;

        public Tensor Forward(Tensor x, int axis, bool keepDim)
        {
            int ax = x.Shape.Axis(axis, "max");
            _inShape = x.Shape;
            _outer = x.Shape.Prod(0, ax); _mid = x.Shape[ax]; _inner = x.Shape.Prod(ax + 1, x.Rank);
            if (_mid == 0) throw new ArgumentException($"max: axis {axis} of shape {x.Shape} is empty");
            var dims = x.Shape.ToArray(); dims[ax] = 1;
            var y = Tensor.Empty(new Shape(dims), x.Device);
            x.Backend.Reduce(ReduceOp.Max, x, _outer, _mid, _inner, y);
            if (NeedsGrad(x)) _arg = x.Backend.ArgMax(x, _outer, _mid, _inner);
            if (!keepDim) y = y.View(new Shape(x.Shape.ToArray().Where((_, i) => i != ax).ToArray()));
            return Record(y, x);
        }

        public override Tensor?[] Backward(Tensor g)
        {
            // The gradient of max flows only to the argmax of each reduced line: scatter g there.
            var gx = Tensor.Zeros(new Shape(_outer, _mid, _inner), g.Device);
            var lines = new Shape(_outer, 1, _inner);
            g.Backend.ScatterAdd(gx, 1, _arg, lines, g.View(lines));
            return [gx.View(_inShape)];
        }
    }
}
