using Frugal.Autograd;
using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;
using static Frugal.Methods.Approximate.ColumnPasses;

namespace Frugal.Tests.Methods.Approximate;

public class ColumnPassesTests
{
    static Matrix Random(int rows, int cols, int seed, int offset = 3)
    {
        var r = new Random(seed);
        var data = new float[offset + rows * cols + 5];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(r.NextDouble() * 2 - 1);
        return new Matrix(data, offset, rows, cols);
    }

    /// <summary>Odd and chunk-straddling widths (vector chunks of 16, partial last chunks), few and many kept columns
    /// (the element path below a quarter, compress/expand above), with and without scales: every fused kernel equals
    /// its scalar reference, and the bytes around the outputs stay untouched.</summary>
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 33, 5)]
    [InlineData(5, 33, 30)]
    [InlineData(13, 64, 40)]
    [InlineData(9, 100, 99)]
    [InlineData(128, 1000, 500)]
    public void Fused_kernels_equal_their_scalar_references(int rowsA, int cols, int k)
    {
        int rowsB = rowsA + 3;
        var a = Random(rowsA, cols, 1); var b = Random(rowsB, cols, 2);
        var idx = Enumerable.Range(0, cols).OrderBy(i => (i * 7919) % 104729).Take(k).Order().ToArray();
        var (na, nb) = SquaredColumnNorms(a, b);
        var (ra, rb) = SquaredColumnNormsScalar(a, b);
        for (int i = 0; i < cols; i++) { Assert.Equal(ra[i], na[i], ra[i] * 1e-5f); Assert.Equal(rb[i], nb[i], rb[i] * 1e-5f); }

        foreach (var scales in new[] { null, Enumerable.Range(0, k).Select(j => 1 + j * 0.25f).ToArray() })
            foreach (bool scaleA in new[] { true, false })
            {
                Matrix Out(int rows, int c) => new(Enumerable.Repeat(-7f, 2 + rows * c + 4).ToArray(), 2, rows, c);
                var (ga, gb, sa, sb) = (Out(rowsA, k), Out(rowsB, k), Out(rowsA, k), Out(rowsB, k));
                Gather(a, b, idx, scales, scaleA, ga, gb);
                GatherScalar(a, b, idx, scales, scaleA, sa, sb);
                Assert.Equal(sa.Data, ga.Data); Assert.Equal(sb.Data, gb.Data);

                var (da, db, ea, eb) = (Out(rowsA, cols), Out(rowsB, cols), Out(rowsA, cols), Out(rowsB, cols));
                Expand(ga, gb, idx, scales, scaleA, da, db);
                ExpandScalar(ga, gb, idx, scales, scaleA, ea, eb);
                Assert.Equal(ea.Data, da.Data); Assert.Equal(eb.Data, db.Data);
                // One side only (dX not needed).
                var dbOnly = Out(rowsB, cols);
                Expand(null, gb, idx, scales, scaleA, null, dbOnly);
                Assert.Equal(eb.Data, dbOnly.Data);
            }
        Assert.Throws<ArgumentException>(() => Gather(a, Random(2, cols + 1, 3), idx, null, true, a, b));
        Assert.Throws<ArgumentException>(() => Expand(a, null, [1, 0], null, true, Random(rowsA, cols, 4), null));
    }

    /// <summary>The fused node against the same product through index_select, a scale multiply and linear: equal outputs
    /// and equal gradients for every input, for Top-k (no scales) and CRS (scales on X or on W); and a finite-difference
    /// check of its backward.</summary>
    [Fact]
    public void Fused_node_matches_the_unfused_ops_and_passes_gradcheck()
    {
        var g = new Generator(4);
        foreach (var (n, scales) in new[] { (6, (float[]?)null), (6, new float[] { 2f, 0.5f, 3f, 1.5f, 1f }), (40, new float[] { 2f, 0.5f, 3f, 1.5f, 1f }) })
        {
            int inF = 11, outF = 9;
            var sample = new ColumnSample([0, 3, 4, 8, 10], scales);
            bool scaleX = n <= outF;
            var x = Tensor.Randn(new Shape(n, inF), g); x.RequiresGrad = true;
            var w = Tensor.Randn(new Shape(outF, inF), g); w.RequiresGrad = true;
            var b = Tensor.Randn(new Shape(outF), g); b.RequiresGrad = true;
            var dy = Tensor.Randn(new Shape(n, outF), g);
            var fused = new SampledInputsLinearFn(sample, scaleX).Forward(x, w, b);
            fused.Backward(dy);
            var (fx, fw, fb) = (x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray());
            x.Grad = w.Grad = b.Grad = null;
            var plain = Gathered(x, sample, scaleX).Linear(Gathered(w, sample, !scaleX), b);
            plain.Backward(dy);
            Assert.Equal(plain.ToArray(), fused.ToArray());
            AssertClose(x.Grad!.ToArray(), fx); AssertClose(w.Grad!.ToArray(), fw); AssertClose(b.Grad!.ToArray(), fb);
        }
        var xs = Tensor.Randn(new Shape(3, 7), g); xs.RequiresGrad = true;
        var ws = Tensor.Randn(new Shape(4, 7), g); ws.RequiresGrad = true;
        var bs = Tensor.Randn(new Shape(4), g); bs.RequiresGrad = true;
        var s = new ColumnSample([1, 2, 6], [1.5f, 0.5f, 2f]);
        var r = GradCheck.Check(t => new SampledInputsLinearFn(s, scaleX: true).Forward(t[0], t[1], t[2]), [xs, ws, bs]);
        Assert.True(r.Ok, r.Report);
    }

    static Tensor Gathered(Tensor t, ColumnSample s, bool scaled)
    {
        var g = t.IndexSelect(1, s.Indices);
        return scaled && s.Scales != null ? g.Mul(Tensor.FromArray(s.Scales, new Shape(1, s.Count))) : g;
    }

    static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f + 1e-5f * Math.Abs(expected[i]));
    }
}
