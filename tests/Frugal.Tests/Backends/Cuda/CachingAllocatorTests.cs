using System.Runtime.CompilerServices;
using Frugal.Backends.Cuda.Memory;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>The caching allocator's bookkeeping, on a fake device memory (no GPU needed).</summary>
[Collection(GcObservingCollection.Name)]
public class CachingAllocatorTests
{
    /// <summary>Hands out increasing fake addresses; can be limited to a number of bytes to simulate a full device.</summary>
    sealed class FakeMemory(long capacity = long.MaxValue) : IDeviceMemory
    {
        ulong _next = 0x1000_0000;
        public readonly Dictionary<ulong, long> Live = [];
        public long Used => Live.Values.Sum();
        public int Allocs, Frees;

        public bool TryAllocate(long bytes, out ulong pointer)
        {
            pointer = 0;
            if (Used + bytes > capacity) return false;
            pointer = _next;
            _next += (ulong)bytes + 256;
            Live[pointer] = bytes;
            Allocs++;
            return true;
        }

        public void Free(ulong pointer)
        {
            Assert.True(Live.Remove(pointer), $"fake: free of unknown 0x{pointer:x}");
            Frees++;
        }
    }

    [Theory]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]        // octave 512: steps of 512 (the minimum step)
    [InlineData(1024, 1024)]
    [InlineData(1025, 1536)]
    [InlineData(4096, 4096)]
    [InlineData(4097, 5120)]       // octave 4096: steps of 1024
    [InlineData(7000, 7168)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData((1 << 20) + 1, (1 << 20) + (1 << 18))]
    [InlineData((1L << 30) + 1, (1L << 30) + (16L << 20))]   // step capped at 16 MiB
    public void Size_classes_round_up_to_a_quarter_octave_with_a_floor_and_a_cap(long bytes, long expected)
    {
        Assert.Equal(expected, CachingAllocator.SizeClass(bytes));
    }

    [Fact]
    public void Size_classes_waste_at_most_a_quarter_and_are_aligned()
    {
        for (long b = 1; b < 1 << 22; b = b * 3 / 2 + 7)
        {
            long c = CachingAllocator.SizeClass(b);
            Assert.True(c >= b, $"{b} → {c}");
            Assert.Equal(0, c % CachingAllocator.MinBlock);
            Assert.True(c <= Math.Max(CachingAllocator.MinBlock, b * 1.25 + CachingAllocator.MinBlock), $"{b} → {c}");
        }
        Assert.Equal(0, CachingAllocator.SizeClass(0));
    }

    [Fact]
    public void A_freed_block_is_reused_for_the_same_class_without_a_device_call()
    {
        var mem = new FakeMemory();
        var a = new CachingAllocator(mem, () => { });
        var b1 = a.Allocate(1000);
        a.Free(b1);
        var b2 = a.Allocate(900);          // same class (1024)
        Assert.Equal(b1.Pointer, b2.Pointer);
        Assert.Equal(1, mem.Allocs);
        var s = a.Statistics;
        Assert.Equal(1, s.CacheHits);
        Assert.Equal(1, s.RawAllocations);
        Assert.Equal(1024, s.BytesInUse);
        Assert.Equal(0, s.BytesCached);
    }

    [Fact]
    public void Different_classes_do_not_share_blocks_and_the_last_freed_is_taken_first()
    {
        var mem = new FakeMemory();
        var a = new CachingAllocator(mem, () => { });
        var small = a.Allocate(512);
        var big = a.Allocate(4096);
        var big2 = a.Allocate(4096);
        a.Free(small); a.Free(big); a.Free(big2);
        Assert.Equal(512 + 2 * 4096, a.Statistics.BytesCached);
        Assert.Equal(big2.Pointer, a.Allocate(4000).Pointer);   // LIFO
        Assert.Equal(big.Pointer, a.Allocate(4000).Pointer);
        var fresh = a.Allocate(4096);                            // class empty now: a device call
        Assert.NotEqual(small.Pointer, fresh.Pointer);
        Assert.Equal(4, mem.Allocs);
    }

    [Fact]
    public void Statistics_track_in_use_cached_and_peak()
    {
        var a = new CachingAllocator(new FakeMemory(), () => { });
        var x = a.Allocate(2048); var y = a.Allocate(4096);
        Assert.Equal(6144, a.Statistics.PeakBytesInUse);
        a.Free(x);
        var s = a.Statistics;
        Assert.Equal((4096L, 2048L, 6144L, 1, 1), (s.BytesInUse, s.BytesCached, s.PeakBytesInUse, s.BlocksInUse, s.BlocksCached));
        a.ResetPeak();
        Assert.Equal(4096, a.Statistics.PeakBytesInUse);
        a.Free(y);
        Assert.Equal(0, a.Statistics.BytesInUse);
        Assert.Contains("cache hits", a.Statistics.ToString());
    }

    [Fact]
    public void Empty_cache_returns_cached_blocks_to_the_device_but_keeps_live_ones()
    {
        var mem = new FakeMemory();
        var a = new CachingAllocator(mem, () => { });
        var live = a.Allocate(1024);
        a.Free(a.Allocate(2048));
        a.Free(a.Allocate(8192));
        a.EmptyCache();
        Assert.Equal(2, mem.Frees);
        Assert.Single(mem.Live);
        Assert.True(mem.Live.ContainsKey(live.Pointer));
        var s = a.Statistics;
        Assert.Equal((0L, 0, 2L), (s.BytesCached, s.BlocksCached, s.RawFrees));
    }

    [Fact]
    public void Double_free_and_foreign_blocks_throw()
    {
        var a = new CachingAllocator(new FakeMemory(), () => { });
        var b = a.Allocate(100);
        a.Free(b);
        Assert.Throws<InvalidOperationException>(() => a.Free(b));
        Assert.Throws<InvalidOperationException>(() => a.Free(new DeviceBlock(0xdead, 512)));
        a.Free(DeviceBlock.Empty);   // zero-length: nothing to do
        Assert.True(a.Allocate(0).IsEmpty);
    }

    [Fact]
    public void When_the_device_is_full_the_cache_is_emptied_and_the_request_retried()
    {
        var mem = new FakeMemory(capacity: 8192);
        var a = new CachingAllocator(mem, () => Assert.Fail("collect should not be needed"));
        a.Free(a.Allocate(4096));
        a.Free(a.Allocate(2048));
        var big = a.Allocate(6000);      // class 6144: fits only after the cached 6 KiB go back
        Assert.False(big.IsEmpty);
        Assert.Equal(2, mem.Frees);
    }

    [Fact]
    public void When_still_full_collect_runs_outside_the_lock_then_out_of_memory_names_the_request()
    {
        var mem = new FakeMemory(capacity: 4096);
        CachingAllocator a = null!;
        var held = new List<DeviceBlock>();
        int collects = 0;
        a = new CachingAllocator(mem, () =>
        {
            collects++;
            // What a finaliser does: frees from inside collect, which must not deadlock.
            foreach (var b in held) a.Free(b);
            held.Clear();
        });
        held.Add(a.Allocate(4096));
        var again = a.Allocate(4096);    // full; collect frees the held block, which is then reused
        Assert.Equal(1, collects);
        Assert.Equal(1, mem.Allocs);
        var ex = Assert.Throws<OutOfMemoryException>(() => a.Allocate(4096));
        Assert.Contains("4096 bytes", ex.Message);
        Assert.Contains("in use", ex.Message);
        a.Free(again);
    }

    [Fact]
    public void Step_scope_collects_at_its_end_and_reports_the_step_peak_and_device_calls()
    {
        var mem = new FakeMemory();
        CachingAllocator a = null!;
        var garbage = new List<DeviceBlock>();
        a = new CachingAllocator(mem, () => { foreach (var b in garbage) a.Free(b); garbage.Clear(); });
        var weights = a.Allocate(1 << 16);
        for (int step = 0; step < 3; step++)
        {
            using var scope = a.BeginStep();
            garbage.Add(a.Allocate(1 << 20));   // activations the step drops
            garbage.Add(a.Allocate(1 << 18));
            Assert.Equal((1 << 16) + (1 << 20) + (1 << 18), scope.Peak);
            Assert.Equal(step == 0 ? 2 : 0, scope.RawAllocations);   // warm cache after the first step
            scope.Dispose();
            Assert.Equal(1 << 16, a.Statistics.BytesInUse);
        }
        Assert.Equal(3, mem.Allocs);
        a.Free(weights);
    }

    [Fact]
    public void Allocations_dropped_without_dispose_come_back_at_the_end_of_a_step_scope()
    {
        // A real collection and the real finalisers, but of every generation: the default (CollectGarbage, gen 0–1, cheap
        // enough for every step) left all 10 dead blocks in use once in CI (45056 bytes in use), which only dead objects
        // out of its reach explain; this test is about the scope handing the finalised blocks back, not about the
        // generation a collection reaches.
        var a = new CachingAllocator(new FakeMemory(), () => { GC.Collect(); GC.WaitForPendingFinalizers(); });
        var kept = new DeviceAllocation(a, 4096);
        using (a.BeginStep()) AllocateAndDrop(a, 10);
        Assert.Equal(4096, a.Statistics.BytesInUse);
        // All 10 blocks are back in the cache, unless a GC finalised some of them during the loop, which then reused
        // their blocks (seen in the emulator suite): 1 to 10 distinct blocks.
        Assert.InRange(a.Statistics.BlocksCached, 1, 10);
        kept.Dispose();
        Assert.Equal(0, a.Statistics.BytesInUse);
        Assert.Throws<ObjectDisposedException>(() => kept.Pointer);
        kept.Dispose();   // idempotent
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void AllocateAndDrop(CachingAllocator a, int count)
    {
        for (int i = 0; i < count; i++) _ = new DeviceAllocation(a, 1 << 12);
    }
}
