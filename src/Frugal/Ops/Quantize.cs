using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>How a value between two representable neighbours is rounded.</summary>
public enum Rounding
{
    /// <summary>To the nearer neighbour, ties to the even code (IEEE default; what the reference code runs).</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("nearest")] NearestEven,
    /// <summary>Up with probability proportional to the distance from the lower neighbour: unbiased, E[Q(x)] = x.</summary>
    Stochastic,
}

/// <summary>
/// Low-bit floating-point "fake quantisation" (METHODS.md §1, Chmiel et al., ICLR 2021): the result is float32
/// holding only values of the format [1, E, M]. Semantics (saturation, denormals, NaN/inf, the counter-based
/// random bits of stochastic rounding) are those of <see cref="Backends.FloatRounding.Quantize"/>.
/// </summary>
public static class QuantizeOps
{
    /// <summary>
    /// Q(x·scale)/scale in a new tensor. <paramref name="infNaN"/>: IEEE-like (top exponent = inf/NaN) versus
    /// NaN-only (OCP E4M3 "fn"). A power-of-two <paramref name="scale"/> makes the scaling exact.
    /// The gradient is passed straight through (identity), the usual estimator for a rounding step whose true
    /// derivative is zero almost everywhere.
    /// </summary>
    public static Tensor QuantizeFloat(this Tensor x, int exponentBits, int mantissaBits, bool infNaN,
                                       Rounding rounding = Rounding.NearestEven, float scale = 1, ulong seed = 0)
        => new QuantizeFn().Forward(x, exponentBits, mantissaBits, infNaN, rounding, scale, seed);

    sealed class QuantizeFn : Function
    {
        public Tensor Forward(Tensor x, int exponentBits, int mantissaBits, bool infNaN, Rounding rounding, float scale, ulong seed)
        {
            var y = Arithmetic.NewLike(x);
            x.Backend.QuantizeFloat(x, y, exponentBits, mantissaBits, infNaN, scale, rounding == Rounding.Stochastic, seed);
            return Record(y, x);
        }

        // Straight-through: dQ/dx is taken as 1.
        public override Tensor?[] Backward(Tensor g) => [g];
    }
}
