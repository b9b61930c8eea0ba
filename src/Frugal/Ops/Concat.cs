using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Concatenation, slicing and splitting along any axis. A tensor viewed as [outer, size·inner] around
/// the axis makes each of these one strided block copy (<see cref="Backends.IBackend.CopyBlocks"/>).
/// </summary>
public static class ConcatOps
{
    /// <summary>torch.cat: joins tensors of equal shape except along <paramref name="axis"/>.</summary>
    public static Tensor Concat(this IReadOnlyList<Tensor> tensors, int axis = 0) => new ConcatFn().Forward(tensors, axis);

    /// <summary>
    /// Elements [start, start + length) along <paramref name="axis"/>. When nothing precedes the axis
    /// (outer = 1) the result is a view sharing storage, as PyTorch's slices; otherwise a copy.
    /// </summary>
    public static Tensor Slice(this Tensor x, int axis, int start, int length)
    {
        int ax = x.Shape.Axis(axis, "slice");
        if (start < 0 || length < 0 || start + length > x.Shape[ax])
            throw new ArgumentException($"slice: [{start}, {start + length}) is outside axis {axis} of shape {x.Shape} (size {x.Shape[ax]})");
        return new SliceFn().Forward(x, ax, start, length);
    }

    /// <summary>torch.split with a list: pieces of the given sizes along the axis (sizes must sum to its size).</summary>
    public static Tensor[] Split(this Tensor x, int[] sizes, int axis = 0)
    {
        int ax = x.Shape.Axis(axis, "split"), dim = x.Shape[ax];
        long sum = 0;
        foreach (var s in sizes)
        {
            if (s < 0) throw new ArgumentException($"split: negative size in [{string.Join(", ", sizes)}]");
            sum += s;
        }
        if (sum != dim)
            throw new ArgumentException($"split: sizes [{string.Join(", ", sizes)}] sum to {sum}, but axis {axis} of shape {x.Shape} has size {dim}");
        var res = new Tensor[sizes.Length];
        for (int i = 0, off = 0; i < sizes.Length; off += sizes[i], i++) res[i] = x.Slice(ax, off, sizes[i]);
        return res;
    }

    /// <summary>torch.split with an int: pieces of <paramref name="splitSize"/> along the axis, the last one smaller if needed.</summary>
    public static Tensor[] Split(this Tensor x, int splitSize, int axis = 0)
    {
        int ax = x.Shape.Axis(axis, "split"), dim = x.Shape[ax];
        if (splitSize <= 0 && !(splitSize == 0 && dim == 0))
            throw new ArgumentException($"split: split size must be positive, got {splitSize} (axis {axis} of shape {x.Shape})");
        if (dim == 0) return [x.Slice(ax, 0, 0)];
        var sizes = new int[(dim + splitSize - 1) / splitSize];
        for (int i = 0; i < sizes.Length; i++) sizes[i] = Math.Min(splitSize, dim - i * splitSize);
        return x.Split(sizes, ax);
    }

    /// <summary>torch.chunk: at most <paramref name="chunks"/> pieces of ceil(size / chunks) along the axis, the last one smaller.</summary>
    public static Tensor[] Chunk(this Tensor x, int chunks, int axis = 0)
    {
        int ax = x.Shape.Axis(axis, "chunk"), dim = x.Shape[ax];
        if (chunks <= 0) throw new ArgumentException($"chunk: number of chunks must be positive, got {chunks}");
        return x.Split(dim == 0 ? 0 : (dim + chunks - 1) / chunks, ax);
    }

    sealed class ConcatFn : Function
    {
        Shape[] _shapes = [];
        int _axis;

        public Tensor Forward(IReadOnlyList<Tensor> tensors, int axis)
        {
            if (tensors.Count == 0) throw new ArgumentException("concat: no tensors to concatenate");
            var first = tensors[0];
            int ax = first.Shape.Axis(axis, "concat"), total = 0;
            foreach (var t in tensors)
            {
                Arithmetic.SameDevice("concat", first, t);
                bool ok = t.Rank == first.Rank;
                for (int d = 0; ok && d < t.Rank; d++) ok = d == ax || t.Shape[d] == first.Shape[d];
                if (!ok)
                    throw new ArgumentException($"concat: shapes {first.Shape} and {t.Shape} differ outside axis {axis}; " +
                        $"all shapes must match except along the concatenation axis");
                total += t.Shape[ax];
            }
            var dims = first.Shape.ToArray(); dims[ax] = total;
            var shape = new Shape(dims);
            var y = Tensor.Empty(shape, first.Device);
            int outer = shape.Prod(0, ax), inner = shape.Prod(ax + 1, shape.Rank), row = total * inner;
            // y viewed as [outer, total·inner]; input i fills columns [off_i·inner, (off_i + size_i)·inner) of every row.
            int off = 0;
            foreach (var t in tensors)
            {
                int block = t.Shape[ax] * inner;
                if (block > 0 && outer > 0) y.Backend.CopyBlocks(t, 0, block, y, off * inner, row, block, outer);
                off += t.Shape[ax];
            }
            _axis = ax;
            _shapes = tensors.Select(t => t.Shape).ToArray();
            return Record(y, tensors.ToArray());
        }

        // The gradient of each input is its slice of g.
        public override Tensor?[] Backward(Tensor g)
        {
            var res = new Tensor?[_shapes.Length];
            int outer = g.Shape.Prod(0, _axis), inner = g.Shape.Prod(_axis + 1, g.Rank), row = g.Shape[_axis] * inner;
            for (int i = 0, off = 0; i < _shapes.Length; off += _shapes[i][_axis], i++)
            {
                if (!Inputs[i].RequiresGrad) continue;
                var gi = Tensor.Empty(_shapes[i], g.Device);
                int block = _shapes[i][_axis] * inner;
                if (block > 0 && outer > 0) g.Backend.CopyBlocks(g, off * inner, row, gi, 0, block, block, outer);
                res[i] = gi;
            }
            return res;
        }
    }

    sealed class SliceFn : Function
    {
        Shape _in;
        int _axis, _start;

        public Tensor Forward(Tensor x, int axis, int start, int length)
        {
            _in = x.Shape; _axis = axis; _start = start;
            var dims = x.Shape.ToArray(); dims[axis] = length;
            var shape = new Shape(dims);
            int outer = x.Shape.Prod(0, axis), inner = x.Shape.Prod(axis + 1, x.Rank);
            Tensor y;
            if (outer == 1) y = new Tensor(shape, x.Storage, x.Offset + start * inner);
            else
            {
                y = Tensor.Empty(shape, x.Device);
                int block = length * inner;
                if (block > 0 && outer > 0) x.Backend.CopyBlocks(x, start * inner, x.Shape[axis] * inner, y, 0, block, block, outer);
            }
            return Record(y, x);
        }

        // The slice's gradient lands in its place inside a zero tensor of the input's shape.
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = Tensor.Zeros(_in, g.Device);
            int outer = _in.Prod(0, _axis), inner = _in.Prod(_axis + 1, _in.Rank), block = g.Shape[_axis] * inner;
            if (block > 0 && outer > 0) g.Backend.CopyBlocks(g, 0, block, gx, _start * inner, _in[_axis] * inner, block, outer);
            return [gx];
        }
    }
}
