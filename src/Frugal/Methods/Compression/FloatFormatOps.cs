using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Compression;

/// <summary>The quantisation op for a <see cref="FloatFormat"/> (METHODS.md §1): Q(x·scale)/scale.</summary>
public static class FloatFormatOps
{
    /// <summary>A new tensor holding x·scale rounded to <paramref name="format"/>, divided back by scale; see
    /// <see cref="QuantizeOps.QuantizeFloat"/>. Stochastic rounding draws from (<paramref name="seed"/>, element index).</summary>
    public static Tensor QuantizeFloat(this Tensor x, FloatFormat format, Rounding rounding = Rounding.NearestEven,
                                       float scale = 1, ulong seed = 0)
        => x.QuantizeFloat(format.ExponentBits, format.MantissaBits, format.HasInfinity, rounding, scale, seed);
}
