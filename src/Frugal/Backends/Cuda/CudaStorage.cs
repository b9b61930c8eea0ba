using Frugal.Backends.Cuda.Memory;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

/// <summary>
/// Float32 storage on a GPU: a block from the device's caching allocator. <see cref="Dispose"/> gives the block back at
/// once; otherwise it goes back when the storage is collected (at the latest at the end of a step scope,
/// <see cref="CudaBackend.BeginStep"/>).
/// </summary>
public sealed class CudaStorage : Storage
{
    readonly CudaBackend _backend;
    readonly DeviceAllocation _memory;
    readonly int _length;

    internal CudaStorage(CudaBackend backend, CachingAllocator allocator, int length)
    {
        _backend = backend;
        _length = length;
        _memory = new DeviceAllocation(allocator, 4L * length);
    }

    public override IBackend Backend => _backend;
    public override int Length => _length;

    /// <summary>Device address of element 0.</summary>
    public ulong Pointer => _memory.Pointer;

    public override void Dispose()
    {
        _memory.Dispose();
        base.Dispose();
    }
}
