using Frugal.Backends;
using Frugal.Ops;
using Frugal.Tensors;
using Frugal.Tests.Engine;

namespace Frugal.Tests.Backends;

/// <summary>
/// The sparse-operand kernels (IBackend.Sparse.cs) against the dense GEMM and the naive convolution adjoint: every
/// transposition and layout, odd sizes that exercise every tile width (128, 64, 16, scalar tail), densities 0, 1%, 50%
/// and 100%, overwrite and accumulate, and sizes large enough to run on several threads.
/// </summary>
public class SparseKernelTests
{
    /// <summary>A [rows, cols] tensor of N(0, 1) entries of which a fraction 1 − density, at random, is zero (±0 both).</summary>
    internal static Tensor Pruned(Device d, ulong seed, double density, params int[] shape)
    {
        var g = new Generator(seed);
        var v = new float[new Shape(shape).Numel];
        g.FillNormal(v);
        for (int i = 0; i < v.Length; i++)
            if (g.NextDouble() >= density) v[i] = i % 2 == 0 ? 0f : -0f;
        return Tensor.FromArray(v, new Shape(shape), d);
    }

    [Theory, InlineData("cpu")]   // CPU only: the CUDA backend has no sparse kernels yet (docs/GPU.md)
    public void CountNonZero_counts_every_non_zero_and_no_zero(string device)
    {
        var d = TestDevices.Parse(device);
        foreach (int n in new[] { 0, 1, 7, 16, 33, 1000, 300_001 })
        {
            var t = Pruned(d, (ulong)n, 0.3, Math.Max(n, 0));
            var h = t.ToArray();
            if (n > 5) { h[3] = float.NaN; h[4] = -0f; h[5] = float.Epsilon; }
            t = Tensor.FromArray(h, new Shape(n), d);
            long expected = h.Count(v => v != 0 || float.IsNaN(v));
            Assert.Equal(expected, t.Backend.CountNonZero(t));
            foreach (int every in new[] { 2, 3, 50 })
            {
                // The sample: blocks of 64 entries whose index is a multiple of every.
                long sampled = h.Where((v, i) => i / IBackend.CountBlock % every == 0).Count(v => v != 0 || float.IsNaN(v));
                Assert.Equal(sampled, t.Backend.CountNonZero(t, every));
            }
        }
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(new Shape(4), d).Backend.CountNonZero(Tensor.Zeros(new Shape(4), d), 0));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(64, 1, 64)]
    [InlineData(65, 7, 64)]
    [InlineData(1000, 3, 64 * 5 + 40)]     // 16 blocks, the last 1000 − 960 = 40 long: blocks 0, 3, 6, 9, 12, 15
    [InlineData(1000, 5, 64 * 3 + 40)]     // blocks 0, 5, 10, 15
    [InlineData(1000, 4, 64 * 4)]          // blocks 0, 4, 8, 12
    public void The_probe_knows_how_many_entries_it_sampled(long n, int every, long expected) =>
        Assert.Equal(expected, SparseBackward.SampleLength(n, every));

    public static TheoryData<string, bool, bool, double, int> GemmCases()
    {
        var data = new TheoryData<string, bool, bool, double, int>();
        foreach (var dev in new[] { "cpu" })
            foreach (bool trans in new[] { false, true })
                foreach (bool acc in new[] { false, true })
                    foreach (double density in new[] { 0, 0.01, 0.5, 1 })
                        for (int size = 0; size < GemmSizes.Length; size++) data.Add(dev, trans, acc, density, size);
        return data;
    }

    /// <summary>(m, n, k): up to 128 rows of C take the column-by-column path (64-float tiles, then a partial one), taller C
    /// the row-by-row path (n = 213 = 128 + 64 + 16 + 5 hits every tile width there); the larger cases run on several threads.</summary>
    static readonly (int M, int N, int K)[] GemmSizes = [(1, 1, 1), (7, 13, 5), (33, 213, 47), (128, 520, 300), (130, 213, 257), (300, 700, 90)];

    [Theory, MemberData(nameof(GemmCases))]
    public void SparseGemm_equals_the_dense_gemm(string device, bool transS, bool accumulate, double density, int size)
    {
        var d = TestDevices.Parse(device);
        var (m, n, k) = GemmSizes[size];
        var s = transS ? Pruned(d, 1, density, k, m) : Pruned(d, 1, density, m, k);
        var b = Tensor.Randn(new Shape(k, n), new Generator(2), d);
        var c0 = Tensor.Randn(new Shape(m, n), new Generator(3), d);
        var expected = Tensor.FromArray(c0.ToArray(), c0.Shape, d);
        var be = s.Backend;
        be.Gemm(transS, false, m, n, k, 1f, s, 0, transS ? m : k, 0, b, 0, n, 0, accumulate ? 1f : 0f, expected, 0, n, 0);
        var actual = Tensor.FromArray(c0.ToArray(), c0.Shape, d);
        be.SparseGemm(transS, m, n, k, s, b, actual, accumulate);
        // Sums of up to k products of N(0,1) entries in a different order: float32 rounding, a few ulps of √k.
        Check.Close(expected.ToArray(), actual.ToArray(), 1e-4f, 1e-4f, $"{(transS ? "Sᵀ" : "S")}·B {m}x{n}x{k} density {density}");
    }

    [Theory, InlineData("cpu")]   // CPU only: the CUDA backend has no sparse kernels yet (docs/GPU.md)
    public void SparseGemm_rejects_shapes_that_do_not_match(string device)
    {
        var d = TestDevices.Parse(device);
        var s = Tensor.Zeros(new Shape(3, 4), d); var b = Tensor.Zeros(new Shape(4, 5), d); var c = Tensor.Zeros(new Shape(3, 6), d);
        var e = Assert.Throws<ArgumentException>(() => s.Backend.SparseGemm(false, 3, 6, 4, s, b, c, false));
        Assert.Contains("sparse_gemm", e.Message);
    }

    /// <summary>Convolutions with groups 1: padding, stride, dilation, non-square kernels, channel counts that take the
    /// per-tap path (1, 2, 3, 4, 17) and the 16-float slot path (16, 32, 48, 64: with AVX-512, 3 kernel rows × 6 slots for 3×3 windows at 32 and 64, else groups of 8 slots; groups of 4 without; plus single ones), 1×1,
    /// and a batch large enough to split over threads.</summary>
    static readonly ConvTests.Cfg[] ConvConfigs =
    [
        new(2, 3, 5, 5, 4, 3, 3, (1, 1), (1, 1)),
        new(2, 3, 6, 5, 4, 3, 3, (2, 2), (1, 1)),
        new(1, 2, 7, 6, 2, 3, 3, (2, 2), (2, 2)),
        new(2, 17, 5, 6, 5, 2, 3, (2, 1), (1, 0)),
        new(2, 2, 7, 6, 3, 3, 2, (1, 2), (1, 0), Dil: (2, 1)),
        new(2, 32, 6, 6, 8, 3, 3, (1, 1), (1, 1)),
        new(2, 48, 5, 7, 3, 3, 3, (2, 1), (1, 1), Dil: (1, 2)),
        new(2, 4, 5, 5, 6, 1, 1, (1, 1), (0, 0)),
        new(2, 1, 1, 1, 3, 3, 3, (1, 1), (1, 1)),
        new(1, 1, 4, 4, 1, 3, 3, (3, 3), (0, 0)),
        new(24, 16, 12, 12, 8, 3, 3, (1, 1), (1, 1)),
        // Stride 1 with C a multiple of 16 beyond the cnn's shapes: 48 and 64 channels, an unpadded window, a 2×3
        // kernel padded on one axis.
        new(2, 48, 5, 6, 4, 2, 3, (1, 1), (1, 0)),
        new(3, 64, 4, 5, 5, 3, 3, (1, 1), (0, 0)),
    ];

    public static TheoryData<string, int, double, int> ConvCases()
    {
        var data = new TheoryData<string, int, double, int>();
        foreach (var dev in new[] { "cpu" })
            for (int i = 0; i < ConvConfigs.Length; i++)
                foreach (double density in new[] { 0, 0.01, 0.5, 1 })
                    for (int which = 0; which < 3; which++) data.Add(dev, i, density, which);
        return data;
    }

    /// <param name="which">0: dx and dw, 1: dx only, 2: dw only.</param>
    [Theory, MemberData(nameof(ConvCases))]
    public void SparseConv2dBackward_equals_the_naive_adjoint(string device, int index, double density, int which)
    {
        var d = TestDevices.Parse(device);
        var g = ConvConfigs[index];
        var x = Tensor.Randn(new Shape(g.N, g.C, g.H, g.W), new Generator(11), d);
        var w = Tensor.Randn(new Shape(g.Cout, g.C, g.KH, g.KW), new Generator(12), d);
        var gy = Pruned(d, 13, density, g.N, g.Cout, g.OH, g.OW);
        var win = new Window2d(g.H, g.W, g.KH, g.KW, g.Stride.H, g.Stride.W, g.Pad.H, g.Pad.W, g.D.H, g.D.W);
        // Outputs start as NaN: the kernel must overwrite every element.
        var dx = which != 2 ? Tensor.Full(x.Shape, float.NaN, d) : null;
        var dw = which != 1 ? Tensor.Full(w.Shape, float.NaN, d) : null;
        gy.Backend.SparseConv2dBackward(gy, x, w, win, dx, dw);
        var (edx, edw) = ConvTests.NaiveConvBackward(g, x.ToArray(), w.ToArray(), gy.ToArray());
        if (dx != null) Check.Close(edx, dx.ToArray(), 1e-4f, 1e-4f, $"dx {g} density {density}");
        if (dw != null) Check.Close(edw, dw.ToArray(), 1e-3f, 1e-4f, $"dw {g} density {density}");
    }

    [Theory, InlineData("cpu")]   // CPU only: the CUDA backend has no sparse kernels yet (docs/GPU.md)
    public void SparseConv2dBackward_rejects_shapes_that_do_not_match(string device)
    {
        var d = TestDevices.Parse(device);
        var x = Tensor.Zeros(new Shape(2, 3, 5, 5), d); var w = Tensor.Zeros(new Shape(4, 3, 3, 3), d);
        var gy = Tensor.Zeros(new Shape(2, 4, 4, 4), d);   // padding 1 would give 5×5
        var e = Assert.Throws<ArgumentException>(() =>
            gy.Backend.SparseConv2dBackward(gy, x, w, new Window2d(5, 5, 3, 3, PadH: 1, PadW: 1), Tensor.Zeros(x.Shape, d), null));
        Assert.Contains("sparse_conv2d_backward", e.Message);
    }

    /// <summary>The one-pass AVX-512 compression lists exactly what the scalar one lists, row by row in column order:
    /// NaN counts as a non-zero, −0 as a zero, rows of either orientation, widths below, at and past a 16-lane block.</summary>
    [Avx512Theory]
    [InlineData(1, 1, false), InlineData(7, 16, false), InlineData(5, 37, false), InlineData(33, 64, false), InlineData(32, 784, false)]
    [InlineData(1, 1, true), InlineData(7, 16, true), InlineData(5, 37, true), InlineData(33, 64, true), InlineData(784, 32, true)]
    public unsafe void The_vector_compression_lists_what_the_scalar_one_lists(int m, int k, bool transposed)
    {
        var s = Pruned(Device.Cpu, (ulong)(m * 131 + k), 0.2, m * k).ToArray();
        if (s.Length > 3) { s[0] = float.NaN; s[1] = -0f; s[2] = float.Epsilon; }
        fixed (float* p = s)
        {
            var vec = Frugal.Backends.Cpu.CpuBackend.SparseRows.CompressAvx512(p, transposed, m, k);
            var sca = Frugal.Backends.Cpu.CpuBackend.SparseRows.CompressScalar(p, transposed, m, k);
            AssertSameRows(sca, vec, m);
            vec.Return(); sca.Return();
        }
    }

    /// <summary>The counting-sort transpose of a compression lists exactly what compressing the other orientation lists
    /// (same rows, same column order, same bits), with empty rows and columns and NaN among the entries.</summary>
    [Theory]
    [InlineData(1, 1), InlineData(7, 16), InlineData(5, 37), InlineData(33, 64), InlineData(32, 784), InlineData(64, 196)]
    public unsafe void A_transposed_compression_lists_what_compressing_the_transpose_lists(int m, int k)
    {
        var s = Pruned(Device.Cpu, (ulong)(m * 977 + k), 0.15, m * k).ToArray();
        if (s.Length > 3) { s[0] = float.NaN; s[1] = -0f; s[2] = float.Epsilon; }
        if (m > 2) Array.Clear(s, k, k);   // an empty row of S, so an empty entry in every row of Sᵀ
        fixed (float* p = s)
        {
            var byRow = Frugal.Backends.Cpu.CpuBackend.SparseRows.Compress(p, false, m, k);
            var viaSort = byRow.Transpose(m, k);
            var direct = Frugal.Backends.Cpu.CpuBackend.SparseRows.CompressScalar(p, true, k, m);
            AssertSameRows(direct, viaSort, k);
            byRow.Return(); viaSort.Return(); direct.Return();
        }
    }

    /// <summary>The same rows, entries and column order, and the same value bits (NaN and −0 included).</summary>
    static void AssertSameRows(Frugal.Backends.Cpu.CpuBackend.SparseRows expected, Frugal.Backends.Cpu.CpuBackend.SparseRows actual, int rows)
    {
        int nnz = (int)expected.NonZeros;
        Assert.Equal(expected.NonZeros, actual.NonZeros);
        Assert.Equal(expected.Start.AsSpan(0, rows + 1).ToArray(), actual.Start.AsSpan(0, rows + 1).ToArray());
        Assert.Equal(expected.Index.AsSpan(0, nnz).ToArray(), actual.Index.AsSpan(0, nnz).ToArray());
        Assert.Equal(expected.Value.AsSpan(0, nnz).ToArray().Select(BitConverter.SingleToInt32Bits),
            actual.Value.AsSpan(0, nnz).ToArray().Select(BitConverter.SingleToInt32Bits));
    }
}
