using Frugal.Backends.Cpu;
using Frugal.Backends.Cuda.Kernels;
using Frugal.Backends.Cuda.Memory;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Gradient pruning on the GPU (IBackend.Prune.cs, METHODS.md §1): one element-wise pass that also writes a partial
// [zeros, Σx·y, Σx², Σy²] per block, then one block sums the partials (double, fixed order: deterministic, no atomics).
// The pruned values equal the CPU's bit for bit; the statistics agree with the CPU's to float rounding (the CPU sums
// float lanes per 4096 elements, this kernel sums in double throughout).
public sealed partial class CudaBackend
{
    /// <summary>Elements per thread of the prune pass: a quarter of the blocks, so a quarter of the block reductions
    /// and partials, with still ≥ 2·10⁵ threads in flight from 2²⁰ elements up (enough to stream at full bandwidth).</summary>
    const int PruneElementsPerThread = 4;

    public void Prune(PruneKind kind, Tensor x, Tensor y, float threshold, ulong seed, Tensor? stats)
    {
        CpuBackend.CheckPrune(x, y, threshold, stats);
        int n = x.Numel;
        var shape = LaunchShape.ForElements((n + PruneElementsPerThread - 1) / PruneElementsPerThread);
        var key = KernelArg.Int(unchecked((int)CounterRandom.Key(seed)));
        var stochastic = Flag(kind == PruneKind.Stochastic);
        if (stats is null)
        {
            Launch(CompressionKernels.Module, "fr_prune", shape, P(x), P(y), n, stochastic, threshold, key, 0UL);
            return;
        }
        if (n == 0) { Fill(stats, 0); return; }
        using var partial = new DeviceAllocation(_dev.Allocator, 4L * sizeof(double) * shape.Grid);
        Launch(CompressionKernels.Module, "fr_prune", shape, P(x), P(y), n, stochastic, threshold, key, partial.Pointer);
        Launch(CompressionKernels.Module, "fr_prune_stats", LaunchShape.Single, partial.Pointer, (int)shape.Grid, P(stats));
    }
}
