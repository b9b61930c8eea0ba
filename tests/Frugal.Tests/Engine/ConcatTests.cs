using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class ConcatTests
{
    /// <summary>Reference concat by coordinates: y[o, off + m, i] = t[o, m, i].</summary>
    static float[] NaiveConcat(Tensor[] ts, int axis)
    {
        var s0 = ts[0].Shape;
        int outer = s0.Prod(0, axis), inner = s0.Prod(axis + 1, s0.Rank), total = ts.Sum(t => t.Shape[axis]);
        var y = new float[outer * total * inner];
        int off = 0;
        foreach (var t in ts)
        {
            var v = t.ToArray();
            int m = t.Shape[axis];
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < m; j++)
                    for (int i = 0; i < inner; i++)
                        y[(o * total + off + j) * inner + i] = v[(o * m + j) * inner + i];
            off += m;
        }
        return y;
    }

    static int[] With(int[] dims, int axis, int size)
    {
        var r = (int[])dims.Clone(); r[axis] = size;
        return r;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Concat_matches_naive_along_every_axis(string device)
    {
        var d = Device.Parse(device);
        int[] baseDims = [2, 3, 4];
        for (int axis = 0; axis < 3; axis++)
        {
            var ts = new[] { 1, 3, 2 }.Select((m, i) => Tensor.Randn(new Shape(With(baseDims, axis, m)), new Generator((ulong)i), d)).ToArray();
            var y = ts.Concat(axis);
            Assert.Equal(new Shape(With(baseDims, axis, 6)), y.Shape);
            Assert.Equal(NaiveConcat(ts, axis), y.ToArray());
        }
        var a = Tensor.FromArray([1, 2, 3, 4], new Shape(2, 2), d);
        var b = Tensor.FromArray([5, 6], new Shape(2, 1), d);
        Assert.Equal([1, 2, 5, 3, 4, 6], ConcatOps.Concat([a, b], -1).ToArray());
        Assert.Equal([1, 2, 3, 4, 1, 2, 3, 4], ConcatOps.Concat([a, a], 0).ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Concat_gradients_along_first_middle_and_last_axis(string device)
    {
        var d = Device.Parse(device);
        int[] baseDims = [2, 3, 2];
        foreach (var axis in new[] { 0, 1, -1 })
        {
            int ax = (axis + 3) % 3;
            var a = Check.Param(d, 1, With(baseDims, ax, 1));
            var b = Check.Param(d, 2, With(baseDims, ax, 3));
            var c = Check.Param(d, 3, With(baseDims, ax, 2));
            Check.Gradients(t => t.Concat(axis), a, b, c);
        }
        // The same tensor twice: both slices add up in its gradient.
        var x = Check.Param(d, 4, 2, 3);
        Check.Gradients(t => ConcatOps.Concat([t[0], t[1], t[0]], 1), x, Check.Param(d, 5, 2, 1));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Split_chunk_and_slice_match_known_values(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Arange(24, d).Reshape(2, 3, 4);
        var parts = x.Split([1, 3], axis: 2);
        Assert.Equal(new Shape(2, 3, 1), parts[0].Shape);
        Assert.Equal([0, 4, 8, 12, 16, 20], parts[0].ToArray());
        Assert.Equal([1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19, 21, 22, 23], parts[1].ToArray());
        var rows = x.Split([2, 0, 1], axis: 1);
        Assert.Equal(new Shape(2, 0, 4), rows[1].Shape);
        Assert.Equal([8, 9, 10, 11, 20, 21, 22, 23], rows[2].ToArray());
        Assert.Equal(x.ToArray(), ConcatOps.Concat(rows, 1).ToArray());

        var chunks = Tensor.Arange(5, d).Chunk(3);           // ceil(5/3) = 2: sizes 2, 2, 1
        Assert.Equal([2, 2, 1], chunks.Select(c => c.Shape[0]).ToArray());
        Assert.Equal(2, Tensor.Arange(4, d).Chunk(3).Length);   // ceil(4/3) = 2: sizes 2, 2 (torch.chunk gives fewer)
        Assert.Equal([3, 3, 1], Tensor.Arange(7, d).Split(3).Select(c => c.Shape[0]).ToArray());

        Assert.Equal([4, 5, 6, 7, 16, 17, 18, 19], x.Slice(1, 1, 1).ToArray());
        var lead = x.Slice(0, 1, 1);                          // nothing before axis 0: a view
        Assert.Same(x.Storage, lead.Storage);
        Assert.Equal(Enumerable.Range(12, 12).Select(i => (float)i).ToArray(), lead.ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Split_and_slice_gradients(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 9, 2, 5, 3);
        Check.Gradients(t => t[0].Slice(1, 1, 3), x);
        Check.Gradients(t => t[0].Slice(0, 1, 1), x);
        Check.Gradients(t => t[0].Slice(-1, 2, 1), x);
        // Unequal pieces, each used differently, so every piece's backward is checked.
        Check.Gradients(t =>
        {
            var p = t[0].Split([1, 3, 1], axis: 1);
            return ConcatOps.Concat([p[2].Mul(2f), p[0], p[1].Mul(-1f)], 1);
        }, x);
        Check.Gradients(t => t[0].Chunk(2, -1)[0], x);
    }

    [Fact]
    public void Bad_inputs_name_op_axis_and_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => ConcatOps.Concat([Tensor.Zeros(2, 3), Tensor.Zeros(4, 3)], 1));
        Assert.Contains("concat", ex.Message);
        Assert.Contains("axis 1", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4, 3]", ex.Message);
        var rank = Assert.Throws<ArgumentException>(() => ConcatOps.Concat([Tensor.Zeros(2, 3), Tensor.Zeros(2, 3, 1)], 0));
        Assert.Contains("[2, 3, 1]", rank.Message);
        Assert.Contains("concat", Assert.Throws<ArgumentException>(() => ConcatOps.Concat([], 0)).Message);

        var split = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 5).Split([2, 2], 1));
        Assert.Contains("split", split.Message);
        Assert.Contains("sum to 4", split.Message);
        Assert.Contains("[2, 5]", split.Message);
        Assert.Contains("size 5", split.Message);

        var slice = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 5).Slice(1, 3, 3));
        Assert.Contains("slice", slice.Message);
        Assert.Contains("[2, 5]", slice.Message);
        Assert.Contains("chunk", Assert.Throws<ArgumentException>(() => Tensor.Zeros(4).Chunk(0)).Message);
    }
}
