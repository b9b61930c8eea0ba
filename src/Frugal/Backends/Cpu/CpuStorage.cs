using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>Managed float32 storage on the CPU.</summary>
public sealed class CpuStorage : Storage
{
    public float[] Data { get; private set; }
    readonly int _length;

    internal CpuStorage(float[] data, int length) { Data = data; _length = length; }

    public override IBackend Backend => CpuBackend.Instance;
    public override int Length => _length;
    public override float[] HostArray => Data;
}
