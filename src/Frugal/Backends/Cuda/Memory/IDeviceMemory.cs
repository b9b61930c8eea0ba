namespace Frugal.Backends.Cuda.Memory;

/// <summary>
/// Raw device memory: what <see cref="CachingAllocator"/> sits on (cuMemAlloc/cuMemFree on a GPU, a fake in the
/// tests), so its bookkeeping is tested on the CPU.
/// </summary>
public interface IDeviceMemory
{
    /// <summary>Allocates <paramref name="bytes"/>; false when the device is out of memory (other failures throw).</summary>
    bool TryAllocate(long bytes, out ulong pointer);

    void Free(ulong pointer);
}
