using Frugal.Methods.LocalLearning;

namespace Frugal.Tests.Methods.LocalLearning;

public class PartitionLargestBatchTests
{
    /// <summary>A fake memory model: 3 MiB + 0.7 MiB per example under a cap finds the exact boundary, in about
    /// 2·log2 probes.</summary>
    [Theory]
    [InlineData(100.0, 4096, 138)]
    [InlineData(3.5, 4096, 0)]
    [InlineData(1e9, 4096, 4096)]
    [InlineData(1e9, 1000, 1000)]
    [InlineData(3.7, 4096, 1)]
    public void Search_finds_the_exact_boundary_of_a_monotone_fit(double capMb, int max, int expected)
    {
        int probes = 0;
        bool Fits(int b)
        {
            probes++;
            return 3 + 0.7 * b <= capMb;
        }
        Assert.Equal(expected, LargestBatch.Search(Fits, max));
        Assert.True(probes <= 2 * Math.Log2(max) + 2, $"{probes} probes");
        Assert.Equal((int)Math.Floor((capMb - 3) / 0.7) is var b && b >= 1 ? Math.Min(b, max) : 0, expected);
    }
}

/// <summary>Reads the process's peak resident size, so it runs alone: no other test allocates or starts a peak window
/// (every Trainer epoch does) meanwhile.</summary>
[Collection(GcObservingCollection.Name)]
public class PartitionLargestBatchMemoryTests
{
    [Fact]
    public void Training_memory_grows_with_what_the_probe_holds()
    {
        double small = LargestBatch.TrainingMemoryMb(() => GC.KeepAlive(new byte[1 << 20]));
        double large = LargestBatch.TrainingMemoryMb(() =>
        {
            var a = new byte[64 << 20];
            Array.Fill(a, (byte)1);
            GC.KeepAlive(a);
        });
        if (!Frugal.Diagnostics.PeakMemory.CanReset) return;   // the peak cannot be windowed here
        Assert.True(large - small > 48, $"64 MiB touched measured {large:F1} MiB, 1 MiB measured {small:F1} MiB");
    }
}
