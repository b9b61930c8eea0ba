using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Low-bit floating-point quantisation ("fake quantisation": the result stays float32 but holds only values
/// of the target format), for the gradient formats of METHODS.md §1 (Chmiel et al., ICLR 2021).
/// The exact semantics, which every backend must reproduce bit for bit, are <see cref="FloatRounding.Quantize"/>.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// y = Q(x·scale)/scale element-wise, Q rounding to the format [1 sign, <paramref name="exponentBits"/>,
    /// <paramref name="mantissaBits"/>] with bias 2^(E−1)−1 and denormals; <paramref name="infNaN"/> reserves
    /// the top exponent for inf/NaN (IEEE-like), otherwise only S.1…1.1…1 is NaN (OCP E4M3 "fn").
    /// Round to nearest even, or stochastically with the random bits of <see cref="CounterRandom"/> for
    /// (<paramref name="seed"/>, flat element index). Finite values beyond the largest finite value saturate to it.
    /// y may alias x. Formats: 1 ≤ E ≤ 8, 1 ≤ M, 1+E+M ≤ 16, largest finite value within float32.
    /// </summary>
    void QuantizeFloat(Tensor x, Tensor y, int exponentBits, int mantissaBits, bool infNaN, float scale, bool stochastic, ulong seed);
}
