using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class IndexingTests
{
    static float[] NaiveIndexSelect(float[] x, Shape s, int axis, int[] idx)
    {
        int outer = s.Prod(0, axis), dim = s[axis], inner = s.Prod(axis + 1, s.Rank), k = idx.Length;
        var y = new float[outer * k * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < k; j++)
                for (int i = 0; i < inner; i++)
                    y[(o * k + j) * inner + i] = x[(o * dim + idx[j]) * inner + i];
        return y;
    }

    /// <summary>Row-major coordinates of flat position p in shape s.</summary>
    static int[] Coords(int p, Shape s)
    {
        var c = new int[s.Rank];
        for (int d = s.Rank - 1; d >= 0; d--) { c[d] = p % s[d]; p /= s[d]; }
        return c;
    }

    static int Flat(int[] c, Shape s)
    {
        int f = 0;
        for (int d = 0; d < s.Rank; d++) f = f * s[d] + c[d];
        return f;
    }

    static int[] RandomIndex(ulong seed, int n, int bound)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, n).Select(_ => g.NextInt(bound)).ToArray();
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Index_select_matches_naive_loops_on_every_axis(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Randn(new Shape(3, 5, 4), new Generator(1), d);
        int[][] choices = [[4, 0, 0, 2], [1], [2, 3], [0, 1, 2, 3, 4], [3, 3, 3], []];
        for (int axis = 0; axis < 3; axis++)
            foreach (var idx in choices.Select(c => c.Where(i => i < x.Shape[axis]).ToArray()))
            {
                var y = x.IndexSelect(axis, idx);
                var dims = x.Shape.ToArray(); dims[axis] = idx.Length;
                Assert.Equal(new Shape(dims), y.Shape);
                Assert.Equal(NaiveIndexSelect(x.ToArray(), x.Shape, axis, idx), y.ToArray());
            }
        Assert.Equal([2, 0, 2], Tensor.FromArray([0, 1, 2], new Shape(3), d).IndexSelect(-1, [2, 0, 2]).ToArray());
    }

    /// <summary>The two sampler shapes, big enough to take the long-run, short-run and parallel paths.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Index_select_of_columns_and_channels_at_sampler_sizes(string device)
    {
        var d = Device.Parse(device);
        var g = new Generator(3);
        var m = Tensor.Randn(new Shape(256, 700), g, d);
        // Columns: sorted and dense (compress path where AVX-512 exists), sorted and sparse, unsorted (gathers).
        foreach (var cols in new[] { g.Permutation(700).Take(300).Order().ToArray(), g.Permutation(700).Take(699).Order().ToArray(),
                     g.Permutation(700).Take(40).Order().ToArray(), g.Permutation(700).Take(300).ToArray() })
            Assert.Equal(NaiveIndexSelect(m.ToArray(), m.Shape, 1, cols), m.IndexSelect(1, cols).ToArray());
        var block = Enumerable.Range(100, 400).Concat(Enumerable.Range(0, 50)).ToArray();   // long runs
        Assert.Equal(NaiveIndexSelect(m.ToArray(), m.Shape, 1, block), m.IndexSelect(1, block).ToArray());
        var rows = g.Permutation(256).Take(100).ToArray();
        Assert.Equal(NaiveIndexSelect(m.ToArray(), m.Shape, 0, rows), m.IndexSelect(0, rows).ToArray());

        var c = Tensor.Randn(new Shape(16, 32, 8, 8), g, d);
        var chans = g.Permutation(32).Take(12).ToArray();
        Assert.Equal(NaiveIndexSelect(c.ToArray(), c.Shape, 1, chans), c.IndexSelect(1, chans).ToArray());
        var fewChans = new[] { 1, 2, 3, 7, 7 };
        Assert.Equal(NaiveIndexSelect(c.ToArray(), c.Shape, 1, fewChans), c.IndexSelect(1, fewChans).ToArray());
        // Inner of 2 floats with scattered indices: the element loop for short blocks.
        var t = Tensor.Randn(new Shape(64, 50, 2), g, d);
        var idx = RandomIndex(4, 80, 50);
        Assert.Equal(NaiveIndexSelect(t.ToArray(), t.Shape, 1, idx), t.IndexSelect(1, idx).ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Index_select_backward_accumulates_repeated_indices(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 2, 3, 4, 2);
        Check.Gradients(t => t[0].IndexSelect(0, [2, 0, 2, 2]), x);
        Check.Gradients(t => t[0].IndexSelect(1, [3, 1, 3, 0, 1]), x);
        Check.Gradients(t => t[0].IndexSelect(2, [1, 1]), x);

        var v = Tensor.FromArray([1, 2, 3], new Shape(3), d); v.RequiresGrad = true;
        v.IndexSelect(0, [2, 0, 2]).Sum().Backward();
        Assert.Equal([1f, 0f, 2f], v.Grad!.ToArray());
        // Channels at a size that takes the parallel block path of index_add.
        var big = Tensor.Randn(new Shape(2, 8, 128, 128), new Generator(5), d); big.RequiresGrad = true;
        int[] ch = [6, 1, 3];
        var sel = big.IndexSelect(1, ch);
        sel.Backward(Tensor.Full(sel.Shape, 1f, d));
        var gb = big.Grad!.ToArray();
        for (int p = 0; p < gb.Length; p++) Assert.Equal(ch.Contains(p / 16384 % 8) ? 1f : 0f, gb[p]);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Index_select_backward_of_columns_matches_naive_index_add(string device)
    {
        var d = Device.Parse(device);
        var g = new Generator(8);
        foreach (var cols in new[] { g.Permutation(100).Take(70).Order().ToArray(), g.Permutation(100).Take(10).Order().ToArray(), [5, 5, 1, 99] })
        {
            var x = Tensor.Randn(new Shape(33, 100), g, d); x.RequiresGrad = true;
            var y = x.IndexSelect(1, cols);
            var gy = Tensor.Randn(y.Shape, g, d);
            y.Backward(gy);
            var e = new float[33 * 100]; var gh = gy.ToArray();
            for (int o = 0; o < 33; o++)
                for (int j = 0; j < cols.Length; j++) e[o * 100 + cols[j]] += gh[o * cols.Length + j];
            Assert.Equal(e, x.Grad!.ToArray());
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Index_add_matches_naive_and_has_gradients(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 1, 2, 4, 3);
        var src = Check.Param(d, 2, 2, 3, 3);
        int[] idx = [3, 0, 3];
        var y = x.IndexAdd(1, idx, src).ToArray();
        var e = x.ToArray(); var s = src.ToArray();
        for (int o = 0; o < 2; o++)
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 3; i++) e[(o * 4 + idx[j]) * 3 + i] += s[(o * 3 + j) * 3 + i];
        Check.Close(e, y);
        Check.Gradients(t => t[0].IndexAdd(1, idx, t[1]), x, src);
        Check.Gradients(t => t[0].IndexAdd(0, [1, 1, 0], t[1]), Check.Param(d, 3, 2, 3), Check.Param(d, 4, 3, 3));
    }

    static float[] NaiveGather(float[] x, Shape xs, int axis, int[] index, Shape ishape)
    {
        var y = new float[ishape.Numel];
        for (int p = 0; p < y.Length; p++)
        {
            var c = Coords(p, ishape);
            c[axis] = index[p];
            y[p] = x[Flat(c, xs)];
        }
        return y;
    }

    static float[] NaiveScatterAdd(float[] x, Shape xs, int axis, int[] index, Shape ishape, float[] src, Shape ss)
    {
        var y = (float[])x.Clone();
        for (int p = 0; p < ishape.Numel; p++)
        {
            var c = Coords(p, ishape);
            float v = src[Flat(c, ss)];
            c[axis] = index[p];
            y[Flat(c, xs)] += v;
        }
        return y;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gather_matches_torch_semantics(string device)
    {
        var d = Device.Parse(device);
        // torch.gather(t, 1, [[0, 0], [1, 0]]) with t = [[1, 2], [3, 4]] is [[1, 1], [4, 3]].
        var t = Tensor.FromArray([1, 2, 3, 4], new Shape(2, 2), d);
        Assert.Equal([1, 1, 4, 3], t.Gather(1, [0, 0, 1, 0], new Shape(2, 2)).ToArray());
        Assert.Equal([3, 2], t.Gather(0, [1, 0], new Shape(1, 2)).ToArray());

        var x = Tensor.Randn(new Shape(3, 4, 5), new Generator(1), d);
        foreach (var (axis, ish) in new[] { (0, new Shape(6, 4, 5)), (1, new Shape(3, 7, 5)), (1, new Shape(2, 3, 4)), (2, new Shape(3, 2, 9)) })
        {
            var index = RandomIndex((ulong)axis + 10, ish.Numel, x.Shape[axis]);
            Assert.Equal(NaiveGather(x.ToArray(), x.Shape, axis, index, ish), x.Gather(axis, index, ish).ToArray());
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Scatter_add_matches_torch_semantics(string device)
    {
        var d = Device.Parse(device);
        // torch.zeros(2, 3).scatter_add(1, [[0, 0], [2, 1]], [[1, 2], [3, 4]]) is [[3, 0, 0], [0, 4, 3]].
        var z = Tensor.Zeros(new Shape(2, 3), d);
        var s = Tensor.FromArray([1, 2, 3, 4], new Shape(2, 2), d);
        Assert.Equal([3, 0, 0, 0, 4, 3], z.ScatterAdd(1, [0, 0, 2, 1], new Shape(2, 2), s).ToArray());

        var x = Tensor.Randn(new Shape(3, 4, 5), new Generator(1), d);
        var src = Tensor.Randn(new Shape(6, 7, 9), new Generator(2), d);
        foreach (var (axis, ish) in new[] { (0, new Shape(6, 4, 5)), (1, new Shape(3, 7, 5)), (1, new Shape(2, 3, 4)), (2, new Shape(3, 2, 9)) })
        {
            var index = RandomIndex((ulong)axis + 20, ish.Numel, x.Shape[axis]);
            Check.Close(NaiveScatterAdd(x.ToArray(), x.Shape, axis, index, ish, src.ToArray(), src.Shape),
                x.ScatterAdd(axis, index, ish, src).ToArray(), what: $"axis {axis} index {ish}");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gather_and_scatter_add_gradients_with_duplicate_indices(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 1, 3, 4, 2);
        int[] i0 = [2, 2, 0, 1, 2, 2, 0, 0, 1, 1, 1, 2, 0, 0, 0, 1];          // shape [2, 4, 2] on axis 0
        int[] i1 = [3, 3, 0, 3, 1, 1, 2, 2, 0, 0, 0, 3];                      // shape [3, 2, 2] on axis 1
        Check.Gradients(t => t[0].Gather(0, i0, new Shape(2, 4, 2)), x);
        Check.Gradients(t => t[0].Gather(1, i1, new Shape(3, 2, 2)), x);
        Check.Gradients(t => t[0].Gather(2, [1, 1, 0], new Shape(1, 3, 1)), x);

        var src = Check.Param(d, 2, 2, 4, 2);
        Check.Gradients(t => t[0].ScatterAdd(0, i0, new Shape(2, 4, 2), t[1]), x, src);
        Check.Gradients(t => t[0].ScatterAdd(1, i1, new Shape(3, 2, 2), t[1]), x, Check.Param(d, 3, 3, 2, 2));
        // Index smaller than src: the rest of src gets zero gradient.
        Check.Gradients(t => t[0].ScatterAdd(1, [1, 1, 3], new Shape(1, 3, 1), t[1]), x, Check.Param(d, 4, 2, 3, 2));

        var v = Tensor.Zeros(new Shape(3), d);
        var w = Tensor.FromArray([1, 2, 3, 4], new Shape(4), d); w.RequiresGrad = true;
        var gy = Tensor.FromArray([10, 20, 30], new Shape(3), d);
        v.ScatterAdd(0, [2, 2, 0, 2], new Shape(4), w).Backward(gy);
        Assert.Equal([30f, 30f, 10f, 30f], w.Grad!.ToArray());
    }

    [Fact]
    public void Out_of_range_indices_name_op_value_axis_and_size()
    {
        var x = Tensor.Zeros(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => x.IndexSelect(1, [0, 3]));
        foreach (var part in new[] { "index_select", "index 3", "axis 1", "size 3" }) Assert.Contains(part, ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.IndexSelect(0, [-1]));
        foreach (var part in new[] { "index_select", "index -1", "axis 0", "size 2" }) Assert.Contains(part, ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.Gather(0, [0, 2], new Shape(1, 2)));
        foreach (var part in new[] { "gather", "index 2", "axis 0", "size 2" }) Assert.Contains(part, ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.ScatterAdd(1, [5], new Shape(1, 1), Tensor.Zeros(1, 1)));
        foreach (var part in new[] { "scatter_add", "index 5", "axis 1", "size 3" }) Assert.Contains(part, ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.IndexAdd(0, [2], Tensor.Zeros(1, 3)));
        foreach (var part in new[] { "index_add", "index 2", "axis 0", "size 2" }) Assert.Contains(part, ex.Message);
    }

    [Fact]
    public void Mismatched_shapes_are_named()
    {
        var x = Tensor.Zeros(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => x.Gather(1, [0, 0, 0, 0, 0, 0], new Shape(3, 2)));
        Assert.Contains("gather", ex.Message); Assert.Contains("[3, 2]", ex.Message); Assert.Contains("[2, 3]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.Gather(1, [0, 0], new Shape(2)));
        Assert.Contains("rank", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.Gather(1, [0], new Shape(1, 2)));
        Assert.Contains("1 indices", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.ScatterAdd(1, [0, 0, 0, 0], new Shape(2, 2), Tensor.Zeros(2, 1)));
        Assert.Contains("scatter_add", ex.Message); Assert.Contains("src [2, 1]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.IndexAdd(1, [0, 1], Tensor.Zeros(2, 3)));
        Assert.Contains("index_add", ex.Message); Assert.Contains("expected [2, 2]", ex.Message);
    }
}
