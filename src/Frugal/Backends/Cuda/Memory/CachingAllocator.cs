namespace Frugal.Backends.Cuda.Memory;

/// <summary>
/// Device memory with a cache, so a training step does not call cuMemAlloc/cuMemFree per tensor (each costs
/// microseconds to milliseconds and cuMemFree synchronises the device). Requests round up to a size class
/// (<see cref="SizeClass"/>); a freed block goes onto its class's free list and the next request of that class
/// takes it back (last freed first, while it is hot in L2). Since the steps of a training loop repeat the same
/// sizes, after the first step every allocation is a cache hit.
/// <para>
/// Reuse is safe without events because all work runs on one stream: a block freed after its last kernel was
/// enqueued is only used again by work enqueued later on the same stream.
/// </para>
/// <para>
/// When the device is full, the cache is emptied and the request retried; then <c>collect</c> runs (in production a
/// garbage collection that finalises dead tensors, whose blocks come back) and it is retried once more.
/// </para>
/// Thread-safe: tensors finalised on the GC's thread free their blocks here.
/// </summary>
public sealed class CachingAllocator
{
    /// <summary>Smallest size class and the alignment of every class (cuMemAlloc itself aligns to 256).</summary>
    public const long MinBlock = 512;

    /// <summary>Largest step between classes: big tensors waste at most this much, not a quarter of their size.</summary>
    public const long MaxStep = 16L << 20;

    readonly IDeviceMemory _memory;
    readonly Action _collect;
    readonly object _gate = new();
    readonly Dictionary<long, Stack<ulong>> _free = [];
    readonly Dictionary<ulong, long> _live = [];
    long _inUse, _cached, _peak, _rawAllocs, _rawFrees, _hits;
    int _blocksCached;

    /// <param name="memory">Raw device memory.</param>
    /// <param name="collect">Run when the device is out of memory even after emptying the cache, and at the end of a
    /// <see cref="BeginStep"/> scope: frees what dead owners hold. Default <see cref="CollectGarbage"/>.</param>
    public CachingAllocator(IDeviceMemory memory, Action? collect = null)
    {
        _memory = memory;
        _collect = collect ?? CollectGarbage;
    }

    /// <summary>A garbage collection that also runs the finalisers of the dead tensors it finds, so their blocks are back in the cache.</summary>
    public static void CollectGarbage()
    {
        GC.Collect(1, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
    }

    /// <summary>
    /// The size class of a request: at least <see cref="MinBlock"/>, else rounded up to a quarter of its power of two
    /// (4 classes per octave, at most 25% waste), the step capped at <see cref="MaxStep"/>. 0 for 0.
    /// </summary>
    public static long SizeClass(long bytes)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes), $"allocator: {bytes} bytes requested");
        if (bytes == 0) return 0;
        if (bytes <= MinBlock) return MinBlock;
        long pow = 1L << (63 - (int)long.LeadingZeroCount(bytes));   // largest power of two ≤ bytes
        long step = Math.Clamp(pow / 4, MinBlock, MaxStep);
        return (bytes + step - 1) / step * step;
    }

    /// <summary>A block of at least <paramref name="bytes"/>; throws <see cref="OutOfMemoryException"/> when the device has no room.</summary>
    public DeviceBlock Allocate(long bytes)
    {
        long size = SizeClass(bytes);
        if (size == 0) return DeviceBlock.Empty;
        for (int attempt = 0; ; attempt++)
        {
            lock (_gate)
            {
                if (_free.TryGetValue(size, out var list) && list.Count > 0)
                {
                    var p = list.Pop();
                    _cached -= size; _blocksCached--; _hits++;
                    return Track(p, size);
                }
                if (attempt >= 1) ReleaseCached();
                if (_memory.TryAllocate(size, out var fresh))
                {
                    _rawAllocs++;
                    return Track(fresh, size);
                }
                if (attempt >= 2)
                    throw new OutOfMemoryException($"cuda: out of device memory allocating {bytes} bytes (class {size}); {Statistics}");
            }
            // Outside the lock: the finalisers that collect waits for free blocks here.
            if (attempt == 1) _collect();
        }
    }

    DeviceBlock Track(ulong pointer, long size)
    {
        _live.Add(pointer, size);
        _inUse += size;
        if (_inUse > _peak) _peak = _inUse;
        return new DeviceBlock(pointer, size);
    }

    /// <summary>Returns a block to the cache. Freeing a block twice, or one this allocator did not give, throws.</summary>
    public void Free(DeviceBlock block)
    {
        if (block.IsEmpty) return;
        lock (_gate)
        {
            if (!_live.Remove(block.Pointer, out var size) || size != block.Bytes)
                throw new InvalidOperationException($"allocator: block 0x{block.Pointer:x} of {block.Bytes} bytes is not allocated here (double free?)");
            _inUse -= size;
            if (!_free.TryGetValue(size, out var list)) _free[size] = list = new Stack<ulong>();
            list.Push(block.Pointer);
            _cached += size; _blocksCached++;
        }
    }

    /// <summary>Gives every cached block back to the device (torch.cuda.empty_cache): for another process, or before a
    /// phase with different sizes. Blocks in use are untouched.</summary>
    public void EmptyCache()
    {
        lock (_gate) ReleaseCached();
    }

    void ReleaseCached()
    {
        foreach (var list in _free.Values)
            while (list.Count > 0) { _memory.Free(list.Pop()); _rawFrees++; }
        _cached = 0; _blocksCached = 0;
    }

    public AllocatorStatistics Statistics
    {
        get { lock (_gate) return new(_inUse, _cached, _peak, _rawAllocs, _rawFrees, _hits, _live.Count, _blocksCached); }
    }

    /// <summary>Starts a new peak measurement at the current bytes in use.</summary>
    public void ResetPeak()
    {
        lock (_gate) _peak = _inUse;
    }

    /// <summary>
    /// A per-step scope (the Trainer opens one around each step): at its end the step's garbage is collected, so the
    /// blocks of every tensor the step dropped are back in the cache for the next step, deterministically rather than
    /// whenever the GC next runs. <see cref="StepScope.Peak"/> is the step's peak bytes in use.
    /// </summary>
    public StepScope BeginStep() => new(this);

    public sealed class StepScope : IDisposable
    {
        readonly CachingAllocator _owner;
        readonly long _rawAtStart;
        bool _done;

        internal StepScope(CachingAllocator owner)
        {
            _owner = owner;
            owner.ResetPeak();
            _rawAtStart = owner.Statistics.RawAllocations;
        }

        /// <summary>Peak bytes in use since the scope began.</summary>
        public long Peak => _owner.Statistics.PeakBytesInUse;

        /// <summary>Device allocations made since the scope began (0 once the cache is warm).</summary>
        public long RawAllocations => _owner.Statistics.RawAllocations - _rawAtStart;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            _owner._collect();
        }
    }
}
