namespace Frugal.Backends.Cuda.Memory;

/// <summary>
/// A snapshot of a <see cref="CachingAllocator"/>. Bytes are size-class bytes (what the device holds).
/// RawAllocations/RawFrees count calls to the device (cuMemAlloc/cuMemFree), which a steady training loop
/// should stop making after its first step; CacheHits count allocations served from the cache.
/// </summary>
public readonly record struct AllocatorStatistics(
    long BytesInUse, long BytesCached, long PeakBytesInUse,
    long RawAllocations, long RawFrees, long CacheHits,
    int BlocksInUse, int BlocksCached)
{
    public override string ToString() =>
        $"in use {Mib(BytesInUse)} in {BlocksInUse} blocks, cached {Mib(BytesCached)} in {BlocksCached} blocks, peak {Mib(PeakBytesInUse)}, " +
        $"{RawAllocations} device allocations, {RawFrees} device frees, {CacheHits} cache hits";

    static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):F1} MiB";
}
