using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Reusable work buffers for ops whose temporaries are large and short-lived (im2col columns): one per
/// thread, device and slot, grown on demand and never shrunk. Re-allocating them per call would zero tens
/// of megabytes and churn the large-object heap every step. Contents are stale: callers overwrite them.
/// </summary>
static class Scratch
{
    [ThreadStatic] static Dictionary<(Device, int), Storage>? _buffers;

    /// <summary>A tensor of <paramref name="shape"/> over this thread's buffer <paramref name="slot"/> on <paramref name="device"/>.
    /// Valid until the next call with the same slot on this thread.</summary>
    public static Tensor Get(Device device, int slot, Shape shape)
    {
        var buffers = _buffers ??= [];
        int n = shape.Numel;
        if (!buffers.TryGetValue((device, slot), out var s) || s.Length < n)
        {
            s?.Dispose();
            s = BackendRegistry.Get(device).Allocate(n);
            buffers[(device, slot)] = s;
        }
        return new Tensor(shape, s);
    }
}
