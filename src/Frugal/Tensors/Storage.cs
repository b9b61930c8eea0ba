using Frugal.Backends;

namespace Frugal.Tensors;

/// <summary>A flat float32 buffer owned by one backend. Views of a tensor share their storage.</summary>
public abstract class Storage : IDisposable
{
    public abstract IBackend Backend { get; }
    public abstract int Length { get; }
    public Device Device => Backend.Device;
    /// <summary>The elements in host memory, or null where they live on a device (use a download instead).</summary>
    public virtual float[]? HostArray => null;
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
