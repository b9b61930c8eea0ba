using System.Runtime.InteropServices;
using Frugal.Diagnostics;

namespace Frugal.Tests.Diagnostics;

/// <summary>The peak is process-wide, and every Trainer epoch starts a new window: these run alone.</summary>
[Collection(GcObservingCollection.Name)]
public class PeakMemoryTests
{
    const long Size = 256L << 20;

    [Fact]
    public void The_peak_rises_by_the_managed_memory_a_window_touches()
    {
        if (!OperatingSystem.IsLinux()) return;
        long baseline = PeakMemory.MarkBaseline();
        Assert.True(baseline > 0, "VmRSS should be readable on Linux");
        var big = GC.AllocateUninitializedArray<byte>((int)Size);
        for (int i = 0; i < big.Length; i += 4096) big[i] = 1; // resident only once touched
        long peak = PeakMemory.PeakResidentBytes();
        GC.KeepAlive(big);
        Assert.True(peak - baseline > 200L << 20, $"peak {peak >> 20} MiB over a baseline of {baseline >> 20} MiB after touching 256 MiB");
    }

    [Fact]
    public unsafe void A_reset_starts_a_window_below_a_peak_that_was_given_back()
    {
        if (!OperatingSystem.IsLinux() || !PeakMemory.CanReset) return;
        // Native memory, which malloc hands back to the kernel on free (the GC keeps freed managed memory).
        byte* p = (byte*)NativeMemory.Alloc((nuint)Size);
        for (long i = 0; i < Size; i += 4096) p[i] = 1;
        long peak = PeakMemory.PeakResidentBytes();
        NativeMemory.Free(p);
        PeakMemory.ResetPeak();
        // Other tests allocate meanwhile, but not a quarter of a gigabyte at once.
        long after = PeakMemory.PeakResidentBytes();
        Assert.True(after < peak - (128L << 20), $"after the reset the peak is {after >> 20} MiB, the freed window's was {peak >> 20} MiB");
    }
}
