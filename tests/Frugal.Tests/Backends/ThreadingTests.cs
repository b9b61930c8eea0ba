using System.Collections.Concurrent;
using Frugal.Backends.Cpu;

namespace Frugal.Tests.Backends;

/// <summary>The CPU backend's split of element ranges: every element exactly once, full vectors per chunk, and the
/// calling thread alone below the threshold of the kind of kernel.</summary>
public class ThreadingTests
{
    static List<(int Start, int End, int Thread)> Chunks(Action<Action<int, int>> run)
    {
        var chunks = new ConcurrentBag<(int, int, int)>();
        run((s, e) => chunks.Add((s, e, Environment.CurrentManagedThreadId)));
        return [.. chunks.OrderBy(c => c.Item1)];
    }

    static void CoversOnce(List<(int Start, int End, int Thread)> chunks, int n)
    {
        Assert.Equal(0, chunks[0].Start);
        for (int i = 1; i < chunks.Count; i++) Assert.Equal(chunks[i - 1].End, chunks[i].Start);
        Assert.Equal(n, chunks[^1].End);
    }

    [Fact]
    public void Streaming_kernels_stay_on_the_calling_thread_below_their_threshold()
    {
        int n = Threading.StreamingThreshold - 1;
        Assert.True(n > Threading.ParallelThreshold, "a memory-bound kernel waits for more elements than a compute-bound one");
        var chunks = Chunks(body => Threading.ForStreaming(n, body));
        Assert.Equal([(0, n, Environment.CurrentManagedThreadId)], chunks);
        // The same length is split for a compute-bound kernel.
        Assert.Equal(Threading.Threads, Chunks(body => Threading.For(n, body)).Count);
    }

    [Fact]
    public void Streaming_kernels_split_above_their_threshold_into_whole_vectors()
    {
        int n = 2 * Threading.StreamingThreshold + 5;
        var chunks = Chunks(body => Threading.ForStreaming(n, body));
        CoversOnce(chunks, n);
        Assert.Equal(Math.Min(Threading.Threads, 5), chunks.Count);
        foreach (var c in chunks.SkipLast(1)) Assert.Equal(0, (c.End - c.Start) % 16);
    }

    [Fact]
    public void Item_ranges_split_evenly_by_their_grain()
    {
        var chunks = Chunks(body => Threading.For(101, body, grain: 10));
        CoversOnce(chunks, 101);
        Assert.Equal(Math.Min(Threading.Threads, 21), chunks.Count);
        Assert.Single(Chunks(body => Threading.For(9, body, grain: 10)));
    }
}
