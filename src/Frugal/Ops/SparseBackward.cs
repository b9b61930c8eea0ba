using System.Runtime.Intrinsics;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// When a layer's backward uses the sparse-operand kernels (IBackend.Sparse.cs) instead of the dense GEMMs: a pruned
/// neural gradient (Chmiel et al., ICLR 2021; ../shared/METHODS.md section 1, issue 4 item 6) shortens the backward pass
/// in wall-clock time only below a break-even density, which these constants hold. No flag: the backward counts the
/// gradient's non-zeros (a sample of large gradients; tens of µs, see <see cref="Density"/>) and picks the faster path.
/// </summary>
/// <remarks>
/// Measured 2026-11-23 on the 2-core Intel Xeon VM (family 6 model 207, AVX-512; shared, load average ~10), batch 128,
/// randomly pruned dY, the dense side on OpenBLAS's AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX: OpenBLAS 0.3.21 does not
/// know this CPU and otherwise runs SSE3 "Prescott" kernels ~5× slower, which would flatter the sparse side). Break-even
/// densities, single thread on CPU time (the steadiest figure on the shared machine) / two threads on wall time:
/// <code>
///   OPENBLAS_CORETYPE=SkylakeX FRUGAL_THREADS=1 nice -n -15 frugal bench sparse --cpu-time
///   OPENBLAS_CORETYPE=SkylakeX nice -n -15 frugal bench sparse
///   linear dX  (mlp 1024→1024 / cnn 3136→256)    19–21% / 14–15%;   39–40% / 15–16%
///   linear dW  (mlp 784→1024, 1024→1024 / cnn)    22–25% / 10–26%;   28–29% / 25–26%
///   conv 3×3   (32→32 28², 32→64 14², 64→64 14²)  >50%, 39–44%, 28–30% / >50%, 34%, 35–36%
///   conv 3×3 1→32 (thin)                          sparse slower at every density ≥ 1% (both)
///   conv 1×1 64→64 14²                            ~1% / 4–7%
/// </code>
/// The constants sit at or below the lowest of these, since a pruned gradient's density (~15% at 85% sparsity) is close to
/// the linear break-evens and the two paths cost about the same there. Full tables: docs/RESULTS.md.
/// </remarks>
static class SparseBackward
{
    /// <summary>Break-even density of dX = dY·W for linear layers (sparse when the density is below it).</summary>
    internal const double LinearInputBreakEven = 0.15;

    /// <summary>Break-even density of dW = dYᵀ·X for linear layers.</summary>
    internal const double LinearWeightBreakEven = 0.18;

    /// <summary>Break-even density of a whole convolution backward (dX and dW, groups 1, input channels a multiple of 16,
    /// a kernel larger than 1×1), the fused sparse kernel against im2col + two GEMMs + col2im.</summary>
    internal const double ConvBreakEven = 0.25;

    /// <summary>Convolutions whose input channels are not a multiple of 16 otherwise never take the sparse kernel on their
    /// own: it then runs per tap without full vectors, and on a 1-channel stem it measured slower at every density down to
    /// 1% (channel counts like 24 or 48+8 were not measured; forcing the path still works).</summary>
    internal const double ConvUnalignedBreakEven = 0;

    /// <summary>Break-even density of a weight-only backward whose window rows fit one vector (3 rows of kw·C ≤ 16 floats,
    /// e.g. the cnn's 1-channel stem): the kernel sums a row per FMA. Measured 28–30% on the cnn's 1→32 layer against
    /// im2col + GEMM (`frugal bench sparse --only conv`, docs/RESULTS.md).</summary>
    internal const double ConvNarrowWeightBreakEven = 0.25;

    /// <summary>1×1 convolutions never take it either: their dense path is two plain GEMMs (no im2col to save), and the
    /// sparse kernel's channels-last copies alone cost about as much (measured break-even 1–7%).</summary>
    internal const double ConvPointwiseBreakEven = 0;

    /// <summary>The break-even density of a convolution with <paramref name="channels"/> input channels, window
    /// <paramref name="win"/> and a dX wanted or not.</summary>
    internal static double ConvBreakEvenFor(int channels, Window2d win, bool wantX) =>
        channels % 16 == 0 ? (win.Taps == 1 ? ConvPointwiseBreakEven : ConvBreakEven)
        : !wantX && win.KernelH == 3 && win.DilationW == 1 && win.KernelW * channels <= 16 && Vector512.IsHardwareAccelerated
            ? ConvNarrowWeightBreakEven : ConvUnalignedBreakEven;

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
        // The break-evens above are CPU measurements; other devices keep the dense path until theirs are measured.
        if (g.Numel == 0 || g.Device != Device.Cpu) return 1;
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

    /// <summary>True when a product of this density is faster on the sparse kernel (or the sparse path is forced); counts the sparse calls.</summary>
    internal static bool Use(double density, double breakEven)
    {
        if (_force == Path.Dense || (_force == Path.Auto && density >= breakEven)) return false;
        _sparseCalls++;
        return true;
    }
}
