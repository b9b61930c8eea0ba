using System.Numerics.Tensors;

namespace Frugal.Methods.ClosedForm;

/// <summary>
/// Cholesky factorisation G = L·Lᵀ of a symmetric positive-definite matrix and the solve G·X = B by forward and back
/// substitution, in double precision on the host. The matrices it meets are the small Gram matrices of a ridge fit
/// (at most a few thousand rows, <see cref="RidgeRegression"/>), whose products the engine's GEMM has already done.
/// Row-major, row-oriented (Cholesky–Crout), so every inner loop is a contiguous dot product or axpy.
/// </summary>
public static class Cholesky
{
    /// <summary>
    /// Overwrites the lower triangle of the d×d row-major <paramref name="g"/> with L (the strict upper triangle is
    /// left as it was). False when a pivot is not positive, i.e. G is not positive definite to double precision;
    /// g is then partly overwritten.
    /// </summary>
    public static bool TryFactor(Span<double> g, int d)
    {
        if (g.Length != (long)d * d) throw new ArgumentException($"cholesky: {g.Length} values are not a {d}×{d} matrix");
        for (int i = 0; i < d; i++)
        {
            var rowI = g.Slice(i * d, i + 1);
            for (int j = 0; j <= i; j++)
            {
                // L[i,j] = (G[i,j] − Σ_{k<j} L[i,k]·L[j,k]) / L[j,j];  L[i,i] = √(G[i,i] − Σ_{k<i} L[i,k]²)
                double s = rowI[j] - TensorPrimitives.Dot<double>(rowI[..j], g.Slice(j * d, j));
                if (j < i) { rowI[j] = s / g[j * d + j]; continue; }
                if (!(s > 0)) return false;
                rowI[i] = Math.Sqrt(s);
            }
        }
        return true;
    }

    /// <summary>
    /// Solves L·Lᵀ·X = B in place: <paramref name="b"/> is d×m row-major (m right-hand sides) and becomes X;
    /// <paramref name="l"/> is <see cref="TryFactor"/>'s output.
    /// </summary>
    public static void Solve(ReadOnlySpan<double> l, int d, Span<double> b, int m)
    {
        if (l.Length != (long)d * d || b.Length != (long)d * m)
            throw new ArgumentException($"cholesky solve: factor of {l.Length} values and right-hand side of {b.Length} do not fit d = {d}, m = {m}");
        // Forward: Y[i,:] = (B[i,:] − Σ_{j<i} L[i,j]·Y[j,:]) / L[i,i]
        for (int i = 0; i < d; i++)
        {
            var row = b.Slice(i * m, m);
            for (int j = 0; j < i; j++)
                if (l[i * d + j] is var c and not 0) TensorPrimitives.MultiplyAdd<double>(b.Slice(j * m, m), -c, row, row);
            TensorPrimitives.Multiply<double>(row, 1 / l[i * d + i], row);
        }
        // Back: X[i,:] = (Y[i,:] − Σ_{j>i} L[j,i]·X[j,:]) / L[i,i]
        for (int i = d - 1; i >= 0; i--)
        {
            var row = b.Slice(i * m, m);
            for (int j = i + 1; j < d; j++)
                if (l[j * d + i] is var c and not 0) TensorPrimitives.MultiplyAdd<double>(b.Slice(j * m, m), -c, row, row);
            TensorPrimitives.Multiply<double>(row, 1 / l[i * d + i], row);
        }
    }
}
