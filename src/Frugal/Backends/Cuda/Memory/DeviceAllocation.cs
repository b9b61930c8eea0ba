namespace Frugal.Backends.Cuda.Memory;

/// <summary>
/// Owns one <see cref="DeviceBlock"/>: <see cref="Dispose"/> returns it to the allocator at once; otherwise the
/// finaliser does when the owner is collected (at the latest at the end of a step scope). Freeing happens once.
/// </summary>
public sealed class DeviceAllocation : IDisposable
{
    readonly CachingAllocator _allocator;
    DeviceBlock _block;
    int _released;

    public DeviceAllocation(CachingAllocator allocator, long bytes)
    {
        _allocator = allocator;
        _block = allocator.Allocate(bytes);
    }

    /// <summary>The block's address; throws once released.</summary>
    public ulong Pointer
    {
        get
        {
            if (Volatile.Read(ref _released) != 0) throw new ObjectDisposedException(nameof(DeviceAllocation), "cuda: device memory used after it was released");
            return _block.Pointer;
        }
    }

    public DeviceBlock Block => _block;
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    public void Dispose()
    {
        Release();
        GC.SuppressFinalize(this);
    }

    ~DeviceAllocation() => Release();

    void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        _allocator.Free(_block);
    }
}
