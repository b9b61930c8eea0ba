using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Inverted dropout: each element is zeroed with probability p and the survivors scaled by 1/(1 − p),
/// so evaluation needs no rescaling. The mask is drawn on the host from a seeded <see cref="Generator"/>
/// and uploaded, so a seed gives the same mask on every device.
/// </summary>
public static class DropoutOps
{
    /// <summary>Identity when <paramref name="training"/> is false or p = 0.</summary>
    public static Tensor Dropout(this Tensor x, float p, bool training, Generator? generator = null)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentException($"dropout: probability must be in [0, 1), got {p}");
        if (!training || p == 0) return x;
        return new DropoutFn().Forward(x, p, generator ?? Generator.Default);
    }

    /// <summary>The scaled keep-mask (0 or 1/(1 − p) per element) for <paramref name="n"/> elements.</summary>
    internal static float[] Mask(int n, float p, Generator generator)
    {
        var mask = new float[n];
        float scale = 1f / (1 - p);
        // Element dropped when a uniform 32-bit draw falls below p·2³²; one 64-bit draw serves two elements.
        ulong threshold = (ulong)((double)p * 4294967296.0);
        for (int i = 0; i < n; i += 2)
        {
            ulong r = generator.NextULong();
            mask[i] = (r & 0xFFFFFFFFUL) < threshold ? 0f : scale;
            if (i + 1 < n) mask[i + 1] = (r >> 32) < threshold ? 0f : scale;
        }
        return mask;
    }

    sealed class DropoutFn : Function
    {
        Tensor _mask = null!;

        public Tensor Forward(Tensor x, float p, Generator generator)
        {
            var mask = Tensor.FromArray(Mask(x.Numel, p, generator), x.Shape, x.Device);
            var y = Arithmetic.Raw(BinaryOp.Mul, x, mask);
            if (NeedsGrad(x)) _mask = mask;
            return Record(y, x);
        }

        // y = x·mask, so gx = g·mask (the mask already holds the 1/(1 − p) scale).
        public override Tensor?[] Backward(Tensor g) => [Arithmetic.Raw(BinaryOp.Mul, g, _mask)];
    }
}
