namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Grid and block of a launch. Kernels loop grid-stride (element kernels) or block-stride (one block per row or
/// channel), so the grid may be capped without losing work.
/// </summary>
public readonly record struct LaunchShape(uint Grid, uint Block)
{
    /// <summary>Threads per block of every kernel; the block reductions in the prelude assume this power of two.</summary>
    public const int BlockSize = 256;

    /// <summary>Grid cap: enough blocks to fill any current GPU many times over, few enough to keep launches cheap.</summary>
    public const int MaxGrid = 65535;

    public bool IsEmpty => Grid == 0;

    /// <summary>One thread per element (grid-stride); empty for n = 0.</summary>
    public static LaunchShape ForElements(long n) =>
        n <= 0 ? default : new((uint)Math.Min((n + BlockSize - 1) / BlockSize, MaxGrid), BlockSize);

    /// <summary>One block per row (rows, channels); empty for 0 rows.</summary>
    public static LaunchShape PerRow(long rows) => rows <= 0 ? default : new((uint)Math.Min(rows, MaxGrid), BlockSize);

    /// <summary>A single block (small global reductions).</summary>
    public static LaunchShape Single => new(1, BlockSize);
}
