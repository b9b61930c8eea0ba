using Frugal.Backends;

namespace Frugal.Tensors;

/// <summary>A flat float32 buffer owned by one backend. Views of a tensor share their storage.</summary>
public abstract class Storage : IDisposable
{
    public abstract IBackend Backend { get; }
    public abstract int Length { get; }
    public Device Device => Backend.Device;
    public virtual void Dispose() => GC.SuppressFinalize(this);
}
