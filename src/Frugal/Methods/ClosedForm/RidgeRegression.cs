using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.ClosedForm;

/// <summary>Which normal equations a ridge fit solves: the d×d primal ones or the n×n dual ones (same answer).</summary>
public enum RidgeForm { Auto, Primal, Dual }

/// <summary>A ridge fit's weights and the λ its solve used (more than asked when the float32 Gram matrix needed it).</summary>
public sealed record RidgeSolution(Tensor Weights, double Lambda, bool Dual);

/// <summary>
/// Ridge least squares X = argmin ‖A·X − B‖² + λ‖X‖² = (AᵀA + λI)⁻¹AᵀB (the output-layer fit of
/// ../shared/METHODS.md §4.5). The products run on the engine's GEMM, on the tensors' device; the Gram matrix is
/// factored by <see cref="Cholesky"/> in double on the host. With fewer rows than columns (n &lt; d) the dual form
/// X = Aᵀ(AAᵀ + λI)⁻¹B factors an n×n matrix instead, so a hidden layer as wide as the data set or wider costs n³,
/// not d³, and is exact: (AᵀA + λI)⁻¹Aᵀ = Aᵀ(AAᵀ + λI)⁻¹.
/// </summary>
public static class RidgeRegression
{
    /// <summary>
    /// The Gram matrix is a float32 product, rounded at about 1e-7 of its diagonal; a λ far below that can leave
    /// G + λI indefinite. The solve then adds this fraction of G's mean diagonal to λ, ×10 per retry, and reports the
    /// λ it used.
    /// </summary>
    public const double Float32Floor = 1e-7;
    const int MaxRetries = 8;

    /// <summary>X = (AᵀA + λI)⁻¹AᵀB for A: [n, d], B: [n, m]; X: [d, m] on A's device.</summary>
    public static RidgeSolution Solve(Tensor a, Tensor b, double lambda, RidgeForm form = RidgeForm.Auto)
    {
        if (a.Rank != 2 || b.Rank != 2 || a.Shape[0] != b.Shape[0])
            throw new ArgumentException($"ridge: A {a.Shape} and B {b.Shape} must be [n, d] and [n, m] with the same n");
        if (!(lambda >= 0) || double.IsInfinity(lambda)) throw new ArgumentException($"ridge: λ must be ≥ 0 and finite, got {lambda}");
        int n = a.Shape[0], d = a.Shape[1], m = b.Shape[1];
        bool dual = form == RidgeForm.Dual || (form == RidgeForm.Auto && n < d);
        if (!dual)
        {
            var gram = Product(a, true, a, false, d, d);
            var rhs = Product(a, true, b, false, d, m);
            double used = SolveInPlace(gram, d, rhs, m, lambda);
            return new RidgeSolution(ToTensor(rhs, d, m, a.Device), used, false);
        }
        else
        {
            var gram = Product(a, false, a, true, n, n);
            var alpha = ToHost(b.ToArray());
            double used = SolveInPlace(gram, n, alpha, m, lambda);
            var x = Tensor.Uninitialized(new Shape(d, m), a.Device);
            MatMul.Gemm(a, true, ToTensor(alpha, n, m, a.Device), false, x);
            return new RidgeSolution(x, used, true);
        }
    }

    /// <summary>
    /// The ridge pseudo-inverse W⁺ = (WᵀW + λI)⁻¹Wᵀ of W: [p, c], as [c, p]: T·W⁺ is the H minimising
    /// ‖H·W − T‖² + λ‖H‖² (the hidden targets of §4.5).
    /// </summary>
    public static RidgeSolution PseudoInverse(Tensor w, double lambda)
    {
        if (w.Rank != 2) throw new ArgumentException($"ridge pseudo-inverse: W must be 2-D, got {w.Shape}");
        int p = w.Shape[0], c = w.Shape[1];
        var gram = Product(w, true, w, false, c, c);
        var rhs = ToHost(Transpose(w.ToArray(), p, c));
        double used = SolveInPlace(gram, c, rhs, p, lambda);
        return new RidgeSolution(ToTensor(rhs, c, p, w.Device), used, false);
    }

    /// <summary>Factors G + λI (raising λ when float32 rounding needs it, see <see cref="Float32Floor"/>) and solves
    /// for <paramref name="rhs"/> in place; returns the λ used.</summary>
    static double SolveInPlace(double[] gram, int d, double[] rhs, int m, double lambda)
    {
        double meanDiagonal = 0;
        for (int i = 0; i < d; i++) meanDiagonal += gram[i * d + i];
        meanDiagonal = Math.Max(meanDiagonal / Math.Max(d, 1), double.Epsilon);
        var work = new double[gram.Length];
        double used = lambda;
        for (int attempt = 0; ; attempt++)
        {
            gram.CopyTo(work, 0);
            for (int i = 0; i < d; i++) work[i * d + i] += used;
            if (Cholesky.TryFactor(work, d)) break;
            if (attempt == MaxRetries)
                throw new ArgumentException($"ridge: the {d}×{d} Gram matrix is not positive definite even at λ = {used:G3} (are the inputs finite?)");
            used = lambda + Float32Floor * meanDiagonal * Math.Pow(10, attempt);
        }
        Cholesky.Solve(work, d, rhs, m);
        return used;
    }

    static double[] Product(Tensor a, bool ta, Tensor b, bool tb, int rows, int cols)
    {
        var c = Tensor.Uninitialized(new Shape(rows, cols), a.Device);
        MatMul.Gemm(a, ta, b, tb, c);
        return ToHost(c.ToArray());
    }

    static double[] ToHost(float[] v) => Array.ConvertAll(v, x => (double)x);

    static Tensor ToTensor(double[] v, int rows, int cols, Device device) =>
        Tensor.FromArray(Array.ConvertAll(v, x => (float)x), new Shape(rows, cols), device);

    static float[] Transpose(float[] v, int rows, int cols)
    {
        var t = new float[v.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = v[i * cols + j];
        return t;
    }
}
