using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// When a layer's backward uses the sparse-operand kernels (IBackend.Sparse.cs) instead of the dense GEMMs: a pruned
/// neural gradient (Chmiel et al., ICLR 2021; ../shared/METHODS.md section 1, issue 4 item 6) shortens the backward pass
/// in wall-clock time only below a break-even density, which these constants hold. No flag: the backward counts the
/// gradient's non-zeros (a sample of large gradients; tens of µs, see <see cref="Density"/>) and picks the faster path.
/// </summary>
static class SparseBackward
{
    /// <summary>Break-even density of dX = dY·W for linear layers (sparse when density is below it). Measured with
    /// `frugal bench sparse`; see docs/RESULTS.md.</summary>
    internal const double LinearInputBreakEven = 0.30;

    /// <summary>Break-even density of dW = dYᵀ·X for linear layers.</summary>
    internal const double LinearWeightBreakEven = 0.40;

    /// <summary>Break-even density of a whole convolution backward (dX and dW, groups 1), fused sparse kernel against
    /// im2col + two GEMMs + col2im.</summary>
    internal const double ConvBreakEven = 0.30;

    /// <summary>The same for convolutions with fewer than 16 input channels (a stem on 1–3 channels): each tap then
    /// updates fewer floats than one vector holds, so the sparse kernel pays per non-zero without SIMD.</summary>
    internal const double ConvThinBreakEven = 0.03;

    /// <summary>The same for 1×1 convolutions: their dense path is two plain GEMMs (no im2col), while the sparse kernel
    /// still pays for the channels-last copies, so it wins only at lower densities.</summary>
    internal const double ConvPointwiseBreakEven = 0.10;

    /// <summary>The break-even density of a convolution with <paramref name="channels"/> input channels and
    /// <paramref name="taps"/> = kh·kw.</summary>
    internal static double ConvBreakEvenFor(int channels, int taps) =>
        channels < 16 ? ConvThinBreakEven : taps == 1 ? ConvPointwiseBreakEven : ConvBreakEven;

    /// <summary>Which path the backward takes: measured choice, or one forced (tests and benchmarks; per thread, because the
    /// backward runs on the thread that calls it and tests run in parallel).</summary>
    internal enum Path { Auto, Dense, Sparse }

    [ThreadStatic] static Path _force;
    [ThreadStatic] static long _sparseCalls;

    internal static Path Force { get => _force; set => _force = value; }

    /// <summary>How many layer backwards on this thread took a sparse kernel (a test checks that the path is really used).</summary>
    internal static long SparseCalls => _sparseCalls;

    /// <summary>Blocks the density probe reads at most: 2048 blocks of 64 floats, so a linear layer's dY [128, 1024] is
    /// counted whole (as fast as sampling it), and a conv gradient (3.2M floats in the cnn, ~0.3–0.9 ms to count whole)
    /// is sampled in well under 0.1 ms. The estimate is within about ±0.2 percentage points (binomial, 131072 entries) for
    /// a randomly pruned gradient: plenty for a choice between two paths that cost the same at the break-even.</summary>
    internal const int ProbeBlocks = 2048;

    /// <summary>The fraction of non-zero entries of g, from an evenly spread sample of <see cref="ProbeBlocks"/> blocks
    /// (all of g when it is smaller); 0 or 1 when a path is forced, so the probe is skipped.</summary>
    internal static double Density(Tensor g)
    {
        if (_force != Path.Auto) return _force == Path.Sparse ? 0 : 1;
        if (g.Numel == 0) return 1;
        long blocks = (g.Numel + Backends.IBackend.CountBlock - 1) / Backends.IBackend.CountBlock;
        int every = (int)Math.Max(1, blocks / ProbeBlocks);
        return (double)g.Backend.CountNonZero(g, every) / SampleLength(g.Numel, every);
    }

    /// <summary>How many entries <see cref="Backends.IBackend.CountNonZero"/> reads from n with this <paramref name="every"/>.</summary>
    internal static long SampleLength(long n, int every)
    {
        const int block = Backends.IBackend.CountBlock;
        long blocks = (n + block - 1) / block, sampled = (blocks + every - 1) / every, last = (sampled - 1) * every;
        return (sampled - 1) * block + Math.Min(block, n - last * block);
    }

    /// <summary>True when a product of this density is faster on the sparse kernel; counts the sparse calls.</summary>
    internal static bool Use(double density, double breakEven)
    {
        if (density >= breakEven) return false;
        _sparseCalls++;
        return true;
    }
}
