namespace Frugal.Backends.Cuda.Memory;

/// <summary>A block of device memory from <see cref="CachingAllocator"/>: its address and its size class in bytes.</summary>
public readonly record struct DeviceBlock(ulong Pointer, long Bytes)
{
    public static DeviceBlock Empty => default;
    public bool IsEmpty => Bytes == 0;
}
