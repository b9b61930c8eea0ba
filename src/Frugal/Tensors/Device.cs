namespace Frugal.Tensors;

public enum DeviceType { Cpu, Cuda }

/// <summary>Where a tensor's storage lives. Every tensor has one, so no code assumes the CPU.</summary>
public readonly record struct Device(DeviceType Type, int Index = 0)
{
    public static Device Cpu => new(DeviceType.Cpu);
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);

    /// <summary>Parses "cpu", "cuda" or "cuda:N".</summary>
    public static Device Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "cuda") return Cuda();
        if (t.StartsWith("cuda:") && int.TryParse(t[5..], out var i) && i >= 0) return Cuda(i);
        throw new ArgumentException($"device: '{text}' is not a device (expected cpu, cuda or cuda:N)");
    }

    /// <summary>The device's step scope (<see cref="Backends.IBackend.BeginStep"/>): wrap each step of a loop in it.</summary>
    public IDisposable BeginStep() => Backends.BackendRegistry.Get(this).BeginStep();

    /// <summary>Gives back the memory the device keeps for reuse (<see cref="Backends.IBackend.EmptyCache"/>).</summary>
    public void EmptyCache() => Backends.BackendRegistry.Get(this).EmptyCache();

    /// <summary>Waits for the device's queued work (<see cref="Backends.IBackend.Synchronize"/>).</summary>
    public void Synchronize() => Backends.BackendRegistry.Get(this).Synchronize();

    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";
}
