using Frugal.Backends.Cpu;
using Frugal.Backends.Cuda;
using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Maps a device to its backend. The CPU backend is always present. CUDA devices are opened on first use by
/// <see cref="CudaBackend.Create"/>, which probes the driver then and throws <see cref="NotSupportedException"/> with a
/// one-line reason ("cuda: no CUDA driver found (libcuda.so.1); ...") where there is none.
/// </summary>
public static class BackendRegistry
{
    static readonly Dictionary<Device, IBackend> _backends = new() { [Device.Cpu] = CpuBackend.Instance };
    static readonly Dictionary<DeviceType, Func<int, IBackend>> _factories = new() { [DeviceType.Cuda] = CudaBackend.Create };

    /// <summary>Registers a lazily created backend for every device of a type (e.g. CUDA device N).</summary>
    public static void RegisterFactory(DeviceType type, Func<int, IBackend> create)
    {
        lock (_backends) _factories[type] = create;
    }

    public static IBackend Get(Device device)
    {
        // Every tensor allocation asks: the CPU, always present, skips the lock.
        if (device == Device.Cpu) return CpuBackend.Instance;
        lock (_backends)
        {
            if (_backends.TryGetValue(device, out var b)) return b;
            if (!_factories.TryGetValue(device.Type, out var create))
                throw new NotSupportedException($"device {device}: no backend for it is available in this build");
            return _backends[device] = create(device.Index);
        }
    }
}
