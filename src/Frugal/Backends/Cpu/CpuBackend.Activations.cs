using System.Numerics;
using System.Runtime.InteropServices;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

// CPU kernel for the leaky-ReLU backward (IBackend.Norm.cs).
public sealed partial class CpuBackend
{
    // ---- leaky ReLU ------------------------------------------------------------------------

    public void LeakyReluBackward(Tensor x, Tensor g, float slope, Tensor gx)
    {
        var xd = Data(x); var gd = Data(g); var od = Data(gx);
        int xo = x.Offset, go = g.Offset, oo = gx.Offset;
        Threading.ForStreaming(gx.Numel, (s, e) => LeakyReluBackwardSpan(xd.AsSpan(xo + s, e - s), gd.AsSpan(go + s, e - s), slope, od.AsSpan(oo + s, e - s)));
    }

    static void LeakyReluBackwardSpan(ReadOnlySpan<float> x, ReadOnlySpan<float> g, float slope, Span<float> y)
    {
        ref float xr = ref MemoryMarshal.GetReference(x), gr = ref MemoryMarshal.GetReference(g), yr = ref MemoryMarshal.GetReference(y);
        int i = 0, w = Vector<float>.Count;
        var vs = new Vector<float>(slope);
        for (; i <= y.Length - w; i += w)
        {
            var vg = Vector.LoadUnsafe(ref gr, (nuint)i);
            var pos = Vector.GreaterThan(Vector.LoadUnsafe(ref xr, (nuint)i), Vector<float>.Zero);
            Vector.ConditionalSelect(pos, vg, vg * vs).StoreUnsafe(ref yr, (nuint)i);
        }
        for (; i < y.Length; i++) y[i] = x[i] > 0 ? g[i] : slope * g[i];
    }
}
