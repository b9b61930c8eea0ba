using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Indexing with host int[] indices (the engine is float32-only, so indices never live in tensors):
/// index_select / index_add along one axis, and PyTorch's gather / scatter_add. Column-row sampling
/// gathers the kept columns or channels into smaller dense tensors with <see cref="IndexSelect"/>.
/// Indices are copied, so a caller may reuse its array before backward runs.
/// </summary>
public static class Indexing
{
    /// <summary>torch.index_select: y has size indices.Length along the axis and y[.., j, ..] = x[.., indices[j], ..].
    /// Indices may repeat; their gradients add up.</summary>
    public static Tensor IndexSelect(this Tensor x, int axis, int[] indices) => new IndexSelectFn().Forward(x, axis, indices);

    /// <summary>torch.index_add (out of place): y = x, then y[.., indices[j], ..] += source[.., j, ..].</summary>
    public static Tensor IndexAdd(this Tensor x, int axis, int[] indices, Tensor source) => new IndexAddFn().Forward(x, axis, indices, source);

    /// <summary>torch.gather: y has shape <paramref name="indexShape"/> and y[p] = x[p with coordinate
    /// <paramref name="axis"/> replaced by index[p]] (for axis 1: y[i][j][k] = x[i][index[i][j][k]][k]).
    /// <paramref name="index"/> is row-major over indexShape, which has x's rank and is no larger than x
    /// outside the axis.</summary>
    public static Tensor Gather(this Tensor x, int axis, int[] index, Shape indexShape) => new GatherFn().Forward(x, axis, index, indexShape);

    /// <summary>torch.scatter_add (out of place): y = x, then for every position p of <paramref name="indexShape"/>,
    /// y[p with coordinate <paramref name="axis"/> replaced by index[p]] += src[p] (for axis 1:
    /// y[i][index[i][j][k]][k] += src[i][j][k]). indexShape has x's rank, is no larger than src, and no larger
    /// than x outside the axis.</summary>
    public static Tensor ScatterAdd(this Tensor x, int axis, int[] index, Shape indexShape, Tensor src) =>
        new ScatterAddFn().Forward(x, axis, index, indexShape, src);

    static void CheckRange(string op, int[] indices, int axis, Shape shape)
    {
        int dim = shape[axis];
        foreach (var i in indices)
            if ((uint)i >= (uint)dim)
                throw new ArgumentException($"{op}: index {i} is out of range for axis {axis} of size {dim} (shape {shape})");
    }

    static (int Outer, int Dim, int Inner) Around(Shape s, int axis) => (s.Prod(0, axis), s[axis], s.Prod(axis + 1, s.Rank));

    static Shape WithAxis(Shape s, int axis, int size)
    {
        var dims = s.ToArray(); dims[axis] = size;
        return new Shape(dims);
    }

    static Tensor Clone(Tensor x)
    {
        var y = Tensor.Empty(x.Shape, x.Device);
        x.Backend.Map(UnaryOp.Copy, x, y);
        return y;
    }

    /// <summary>Checks what gather and scatter_add share: rank, index count, sizes outside the axis, range.</summary>
    static void CheckIndexShape(string op, Tensor x, int axis, int[] index, Shape indexShape)
    {
        if (indexShape.Rank != x.Rank)
            throw new ArgumentException($"{op}: index shape {indexShape} must have the rank of the input {x.Shape}");
        if (index.Length != indexShape.Numel)
            throw new ArgumentException($"{op}: {index.Length} indices do not fill index shape {indexShape} ({indexShape.Numel} elements)");
        for (int d = 0; d < x.Rank; d++)
            if (d != axis && indexShape[d] > x.Shape[d])
                throw new ArgumentException($"{op}: index shape {indexShape} is larger than the input {x.Shape} in axis {d} (only axis {axis} may differ)");
        CheckRange(op, index, axis, x.Shape);
    }

    sealed class IndexSelectFn : Function
    {
        Shape _in;
        int _axis;
        int[] _idx = [];

        public Tensor Forward(Tensor x, int axis, int[] indices)
        {
            int ax = x.Shape.Axis(axis, "index_select");
            CheckRange("index_select", indices, ax, x.Shape);
            var (outer, dim, inner) = Around(x.Shape, ax);
            var y = Tensor.Empty(WithAxis(x.Shape, ax, indices.Length), x.Device);
            x.Backend.IndexSelect(x, outer, dim, inner, indices, y);
            if (NeedsGrad(x)) { _in = x.Shape; _axis = ax; _idx = (int[])indices.Clone(); }
            return Record(y, x);
        }

        // ∂y[.., j, ..]/∂x[.., indices[j], ..] = 1: index_add g into zeros; repeated indices accumulate.
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = Tensor.Zeros(_in, g.Device);
            var (outer, dim, inner) = Around(_in, _axis);
            g.Backend.IndexAdd(gx, outer, dim, inner, _idx, g);
            return [gx];
        }
    }

    sealed class IndexAddFn : Function
    {
        int _axis;
        int[] _idx = [];

        public Tensor Forward(Tensor x, int axis, int[] indices, Tensor source)
        {
            int ax = x.Shape.Axis(axis, "index_add");
            Arithmetic.SameDevice("index_add", x, source);
            var expected = WithAxis(x.Shape, ax, indices.Length);
            if (source.Shape != expected)
                throw new ArgumentException($"index_add: source has shape {source.Shape}, expected {expected} (input {x.Shape}, {indices.Length} indices along axis {axis})");
            CheckRange("index_add", indices, ax, x.Shape);
            var y = Clone(x);
            var (outer, dim, inner) = Around(x.Shape, ax);
            x.Backend.IndexAdd(y, outer, dim, inner, indices, source);
            if (NeedsGrad(source)) { _axis = ax; _idx = (int[])indices.Clone(); }
            return Record(y, x, source);
        }

        // ∂y/∂x = identity; ∂y[.., indices[j], ..]/∂source[.., j, ..] = 1, so g_source = index_select(g).
        public override Tensor?[] Backward(Tensor g)
        {
            Tensor? gs = null;
            if (Inputs[1].RequiresGrad)
            {
                var (outer, dim, inner) = Around(g.Shape, _axis);
                gs = Tensor.Empty(WithAxis(g.Shape, _axis, _idx.Length), g.Device);
                g.Backend.IndexSelect(g, outer, dim, inner, _idx, gs);
            }
            return [g, gs];
        }
    }

    sealed class GatherFn : Function
    {
        Shape _in, _ishape;
        int _axis;
        int[] _idx = [];

        public Tensor Forward(Tensor x, int axis, int[] index, Shape indexShape)
        {
            int ax = x.Shape.Axis(axis, "gather");
            CheckIndexShape("gather", x, ax, index, indexShape);
            var y = Tensor.Empty(indexShape, x.Device);
            x.Backend.Gather(x, ax, index, y);
            if (NeedsGrad(x)) { _in = x.Shape; _ishape = indexShape; _axis = ax; _idx = (int[])index.Clone(); }
            return Record(y, x);
        }

        // y[p] = x[p | axis ← index[p]]: each g[p] flows back to that element; scatter_add into zeros.
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = Tensor.Zeros(_in, g.Device);
            g.Backend.ScatterAdd(gx, _axis, _idx, _ishape, g);
            return [gx];
        }
    }

    sealed class ScatterAddFn : Function
    {
        Shape _ishape, _src;
        int _axis;
        int[] _idx = [];

        public Tensor Forward(Tensor x, int axis, int[] index, Shape indexShape, Tensor src)
        {
            int ax = x.Shape.Axis(axis, "scatter_add");
            Arithmetic.SameDevice("scatter_add", x, src);
            if (src.Rank != x.Rank)
                throw new ArgumentException($"scatter_add: src {src.Shape} must have the rank of the input {x.Shape}");
            CheckIndexShape("scatter_add", x, ax, index, indexShape);
            for (int d = 0; d < src.Rank; d++)
                if (indexShape[d] > src.Shape[d])
                    throw new ArgumentException($"scatter_add: index shape {indexShape} is larger than src {src.Shape} in axis {d}");
            var y = Clone(x);
            x.Backend.ScatterAdd(y, ax, index, indexShape, src);
            if (NeedsGrad(src)) { _ishape = indexShape; _src = src.Shape; _axis = ax; _idx = (int[])index.Clone(); }
            return Record(y, x, src);
        }

        // ∂y/∂x = identity; src[p] was added to y[p | axis ← index[p]], so g_src[p] = g[p | axis ← index[p]]
        // = gather(g) on the index's positions, and 0 where src is larger than the index.
        public override Tensor?[] Backward(Tensor g)
        {
            Tensor? gs = null;
            if (Inputs[1].RequiresGrad)
            {
                var gathered = Tensor.Empty(_ishape, g.Device);
                g.Backend.Gather(g, _axis, _idx, gathered);
                gs = _ishape == _src ? gathered : EmbedCorner(gathered, _src);
            }
            return [g, gs];
        }
    }

    /// <summary>A zero tensor of <paramref name="shape"/> holding <paramref name="small"/> in its leading corner
    /// (every coordinate of small at the same coordinate): one block copy per index of the first rank−2 axes.</summary>
    static Tensor EmbedCorner(Tensor small, Shape shape)
    {
        var big = Tensor.Zeros(shape, small.Device);
        var s = small.Shape;
        int r = s.Rank;
        if (s.Numel == 0) return big;
        int cols = s[r - 1], rows = r >= 2 ? s[r - 2] : 1, bigRow = shape[r - 1];
        int bigPlane = r >= 2 ? shape[r - 2] * bigRow : 0;
        int planes = s.Prod(0, Math.Max(0, r - 2));
        var c = new int[Math.Max(0, r - 2)];
        for (int p = 0; p < planes; p++)
        {
            // Offset of plane c in big: Σ c[d]·stride_big[d] over the leading axes.
            int off = 0;
            for (int d = c.Length - 1, st = bigPlane; d >= 0; d--) { off += c[d] * st; st *= shape[d]; }
            small.Backend.CopyBlocks(small, p * rows * cols, cols, big, off, bigRow, cols, rows);
            for (int d = c.Length - 1; d >= 0; d--)
            {
                if (++c[d] < s[d]) break;
                c[d] = 0;
            }
        }
        return big;
    }
}
