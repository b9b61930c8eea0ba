using Frugal.Autograd;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Compression;

/// <summary>
/// The measured counterpart of <see cref="FormatError"/> (METHODS.md §1): how much a quantised gradient differs
/// from the original, computed with ops so it runs on any backend.
/// </summary>
public static class QuantizationError
{
    /// <summary>‖q − g‖² / ‖g‖² (0 for an all-zero g that q reproduces; +inf if only g is zero).
    /// Its expectation over lognormal g is <see cref="ErrorMeasure.RelativeMse"/>.</summary>
    public static double Relative(Tensor g, Tensor q)
    {
        if (g.Shape != q.Shape)
            throw new ArgumentException($"quantization error: original has shape {g.Shape}, quantised {q.Shape}");
        using var _ = GradMode.NoGrad();
        double error = q.Sub(g).Square().Sum().Item(), norm = g.Square().Sum().Item();
        return norm > 0 ? error / norm : error == 0 ? 0 : double.PositiveInfinity;
    }
}
