using Frugal.Ops;
using Frugal.Tensors;
using Frugal.Tests.Backends;

namespace Frugal.Tests.Engine;

/// <summary>
/// Linear and Conv2d backward with a pruned incoming gradient (issue 4 item 6): the sparse kernels give the dense path's
/// gradients, the automatic choice really takes the sparse path for a 95%-zero gradient and keeps the dense one for a
/// dense gradient, and finite-difference gradient checks pass with the sparse path forced.
/// </summary>
public class SparseBackwardTests
{
    static T With<T>(SparseBackward.Path path, Func<T> body)
    {
        SparseBackward.Force = path;
        try { return body(); }
        finally { SparseBackward.Force = SparseBackward.Path.Auto; }
    }

    static float[][] LinearGrads(Device d, Tensor g, SparseBackward.Path path) => With(path, () =>
    {
        var x = Check.Param(d, 1, 37, 50); var w = Check.Param(d, 2, 70, 50); var b = Check.Param(d, 3, 70);
        x.Linear(w, b).Backward(g);
        return new[] { x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray() };
    });

    internal static float[][] ConvGrads(Device d, ConvTests.Cfg c, Tensor g, SparseBackward.Path path) => With(path, () =>
    {
        var x = Check.Param(d, 4, c.N, c.C, c.H, c.W); var w = Check.Param(d, 5, c.Cout, c.C, c.KH, c.KW); var b = Check.Param(d, 6, c.Cout);
        x.Conv2d(w, b, c.Stride, c.Pad, 1, c.D).Backward(g);
        return new[] { x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray() };
    });

    static void Same(float[][] expected, float[][] actual, string what)
    {
        string[] names = ["dx", "dw", "db"];
        for (int i = 0; i < expected.Length; i++) Check.Close(expected[i], actual[i], 1e-4f, 1e-4f, $"{what} {names[i]}");
    }

    [Theory, InlineData("cpu")]   // the sparse backward is CPU-only (Ops/SparseBackward.cs)
    public void Linear_backward_takes_the_sparse_path_for_a_pruned_gradient_and_matches_the_dense_one(string device)
    {
        var d = TestDevices.Parse(device);
        var g = SparseKernelTests.Pruned(d, 7, 0.05, 37, 70);   // below both linear break-evens
        var dense = LinearGrads(d, g, SparseBackward.Path.Dense);
        Same(dense, LinearGrads(d, g, SparseBackward.Path.Sparse), "forced sparse");
        long before = SparseBackward.SparseCalls;
        Same(dense, LinearGrads(d, g, SparseBackward.Path.Auto), "automatic");
        Assert.Equal(2, SparseBackward.SparseCalls - before);   // dX and dW, at 5% density
    }

    public static TheoryData<string, int> ConvCases()
    {
        var data = new TheoryData<string, int>();
        foreach (var dev in new[] { "cpu" }) for (int i = 0; i < Convs.Length; i++) data.Add(dev, i);
        return data;
    }

    static readonly ConvTests.Cfg[] Convs =
    [
        new(3, 16, 9, 9, 6, 3, 3, (1, 1), (1, 1)),
        new(2, 17, 8, 7, 4, 3, 2, (2, 1), (1, 0), Dil: (1, 2)),
        new(3, 5, 9, 9, 6, 3, 3, (1, 1), (1, 1)),
        new(2, 32, 6, 6, 8, 1, 1, (1, 1), (0, 0)),
    ];

    /// <summary>Forced sparse equals dense for every case (both the 16-float slot path and the per-tap path); the automatic
    /// choice takes the sparse path for a 3×3 convolution on a multiple of 16 channels and keeps the dense one elsewhere
    /// (a 5-channel input, 17 channels, 1×1), as measured.</summary>
    [Theory, MemberData(nameof(ConvCases))]
    public void Conv2d_backward_with_a_pruned_gradient_matches_the_dense_one_and_takes_the_measured_path(string device, int index)
    {
        var d = TestDevices.Parse(device);
        var c = Convs[index];
        var g = SparseKernelTests.Pruned(d, 8, 0.05, c.N, c.Cout, c.OH, c.OW);
        var dense = ConvGrads(d, c, g, SparseBackward.Path.Dense);
        Same(dense, ConvGrads(d, c, g, SparseBackward.Path.Sparse), $"forced sparse {c}");
        long before = SparseBackward.SparseCalls;
        Same(dense, ConvGrads(d, c, g, SparseBackward.Path.Auto), $"automatic {c}");
        Assert.Equal(c.C % 16 == 0 && c.KH * c.KW > 1 ? 1 : 0, SparseBackward.SparseCalls - before);
    }

    [Theory, InlineData("cpu")]   // the sparse backward is CPU-only (Ops/SparseBackward.cs)
    public void A_dense_gradient_keeps_the_dense_path(string device)
    {
        var d = TestDevices.Parse(device);
        long before = SparseBackward.SparseCalls;
        LinearGrads(d, SparseKernelTests.Pruned(d, 9, 1, 37, 70), SparseBackward.Path.Auto);
        var c = Convs[0];
        ConvGrads(d, c, SparseKernelTests.Pruned(d, 9, 1, c.N, c.Cout, c.OH, c.OW), SparseBackward.Path.Auto);
        Assert.Equal(before, SparseBackward.SparseCalls);
    }

    [Theory, InlineData("cpu")]   // the sparse backward is CPU-only (Ops/SparseBackward.cs)
    public void Gradient_checks_pass_on_the_sparse_path(string device)
    {
        var d = TestDevices.Parse(device);
        long before = SparseBackward.SparseCalls;
        With(SparseBackward.Path.Sparse, () =>
        {
            Check.Gradients(t => t[0].Linear(t[1], t[2]), Check.Param(d, 1, 3, 5), Check.Param(d, 2, 4, 5), Check.Param(d, 3, 4));
            foreach (var c in Convs)
            {
                var x = Check.Param(d, 4, c.N, c.C, c.H, c.W); var w = Check.Param(d, 5, c.Cout, c.C, c.KH, c.KW); var b = Check.Param(d, 6, c.Cout);
                Check.Gradients(t => t[0].Conv2d(t[1], t[2], c.Stride, c.Pad, 1, c.D), x, w, b);
            }
            return 0;
        });
        Assert.Equal(2 + Convs.Length, SparseBackward.SparseCalls - before);
    }
}

/// <summary>Tests that allocate many megabytes at once (and so start full collections) run alone: a few tests elsewhere
/// watch finalisers and buffer reuse (BufferPoolTests, CachingAllocatorTests), which a collection started in parallel upsets.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LargeAllocationCollection
{
    public const string Name = "large allocations (serial)";
}

/// <summary>The sparse-backward choice on gradients large enough that the density probe samples them.</summary>
[Collection(LargeAllocationCollection.Name)]
public class SparseBackwardLargeGradientTests
{
    /// <summary>The probe on gradients far above its sampling threshold (the cnn's largest, [128, 32, 28, 28]: 50176 blocks,
    /// so every 24th is read): the sampled count is divided by the sample's length, not the tensor's. Binomial noise on
    /// 131k sampled entries is ±0.2 pp.</summary>
    [Theory]
    [InlineData(1.0)]
    [InlineData(0.3)]
    [InlineData(0.05)]
    public void Density_probe_of_a_large_gradient_estimates_its_non_zero_fraction(double density)
    {
        var g = SparseKernelTests.Pruned(Device.Cpu, 11, density, 128, 32, 28, 28);
        Assert.True(g.Numel / Frugal.Backends.IBackend.CountBlock >= 20 * SparseBackward.ProbeBlocks);   // really sampled
        double estimate = SparseBackward.Density(g);
        Assert.True(Math.Abs(estimate - density) <= 0.01, $"density {density}: estimated {estimate:F4}");
    }

    /// <summary>Dense gradients large enough to be sampled (every 6th block of a conv's dY [32, 32, 28, 28], every 8th of a
    /// linear's [1024, 1024]) keep the dense kernels: a probe that under-read them would send them to the sparse ones.</summary>
    [Fact]
    public void Large_dense_gradients_keep_the_dense_path()
    {
        var d = Device.Cpu;
        long before = SparseBackward.SparseCalls;
        var c = new ConvTests.Cfg(32, 16, 28, 28, 32, 3, 3, (1, 1), (1, 1));     // 16 channels, 3×3: eligible for the sparse kernel
        var gy = SparseKernelTests.Pruned(d, 12, 1, c.N, c.Cout, c.OH, c.OW);
        Assert.True(gy.Numel / Frugal.Backends.IBackend.CountBlock >= 4 * SparseBackward.ProbeBlocks);
        SparseBackwardTests.ConvGrads(d, c, gy, SparseBackward.Path.Auto);
        Assert.Equal(before, SparseBackward.SparseCalls);
        var x = Check.Param(d, 13, 1024, 64); var w = Check.Param(d, 14, 1024, 64);
        x.Linear(w, null).Backward(SparseKernelTests.Pruned(d, 15, 1, 1024, 1024));
        Assert.Equal(before, SparseBackward.SparseCalls);
        // The control: the same conv with a 5%-dense gradient of that size does take the sparse kernel.
        SparseBackwardTests.ConvGrads(d, c, SparseKernelTests.Pruned(d, 16, 0.05, c.N, c.Cout, c.OH, c.OW), SparseBackward.Path.Auto);
        Assert.Equal(before + 1, SparseBackward.SparseCalls);
    }
}
