using Frugal.Methods.ClosedForm;
using Frugal.Tensors;
using MathNet.Numerics.LinearAlgebra;
using Xunit;

namespace Frugal.Tests.ClosedForm;

/// <summary>The Cholesky solve against a hand-computed factor, and the ridge fits against the normal equations solved in double by MathNet.</summary>
public class RidgeRegressionTests
{
    [Fact]
    public void Cholesky_reproduces_a_hand_computed_factor_and_solve()
    {
        // [[4, 12, −16], [12, 37, −43], [−16, −43, 98]] = L·Lᵀ with L = [[2, 0, 0], [6, 1, 0], [−8, 5, 3]].
        double[] g = [4, 12, -16, 12, 37, -43, -16, -43, 98];
        Assert.True(Cholesky.TryFactor(g, 3));
        double[] lower = [g[0], g[3], g[4], g[6], g[7], g[8]];
        Assert.Equal([2, 6, 1, -8, 5, 3], lower.Select(v => Math.Round(v, 12)));
        // G·x = b for x = (1, −2, 3), two right-hand sides (x and 2x).
        double[] x = [1, 1 * 2, -2, -2 * 2, 3, 3 * 2];
        double[] b = new double[6];
        double[,] full = { { 4, 12, -16 }, { 12, 37, -43 }, { -16, -43, 98 } };
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 2; k++)
                for (int j = 0; j < 3; j++) b[i * 2 + k] += full[i, j] * x[j * 2 + k];
        Cholesky.Solve(g, 3, b, 2);
        for (int i = 0; i < 6; i++) Assert.Equal(x[i], b[i], 10);
    }

    [Fact]
    public void Cholesky_refuses_an_indefinite_matrix()
    {
        double[] g = [1, 2, 2, 1];   // eigenvalues 3 and −1
        Assert.False(Cholesky.TryFactor(g, 2));
    }

    [Theory]
    [InlineData(40, 6, 3, 0.5)]
    [InlineData(12, 30, 2, 0.1)]   // fewer rows than columns: the dual form
    public void Ridge_equals_the_normal_equations_in_double(int n, int d, int m, double lambda)
    {
        var (a, b) = (Random(n, d, 1), Random(n, m, 2));
        var fit = RidgeRegression.Solve(a, b, lambda);
        Assert.Equal(n < d, fit.Dual);
        Assert.Equal(lambda, fit.Lambda);
        var am = Matrix(a);
        var expected = (am.TransposeThisAndMultiply(am) + lambda * Matrix<double>.Build.DenseIdentity(d)).Solve(am.TransposeThisAndMultiply(Matrix(b)));
        AssertClose(expected, fit.Weights, 2e-4);
    }

    [Theory]
    [InlineData(50, 8)]
    [InlineData(8, 50)]
    public void Primal_and_dual_forms_agree(int n, int d)
    {
        var (a, b) = (Random(n, d, 3), Random(n, 4, 4));
        var primal = RidgeRegression.Solve(a, b, 0.3, RidgeForm.Primal);
        var dual = RidgeRegression.Solve(a, b, 0.3, RidgeForm.Dual);
        Assert.False(primal.Dual);
        Assert.True(dual.Dual);
        AssertClose(Matrix(primal.Weights), dual.Weights, 1e-4);
    }

    [Fact]
    public void Lambda_zero_recovers_the_exact_solution_of_a_well_posed_system()
    {
        var a = Random(30, 4, 5);
        var truth = Random(4, 2, 6);
        var b = Tensor.FromArray(Matrix(a).Multiply(Matrix(truth)).ToRowMajorArray().Select(v => (float)v).ToArray(), new Shape(30, 2));
        var fit = RidgeRegression.Solve(a, b, 0);
        Assert.Equal(0, fit.Lambda);
        AssertClose(Matrix(truth), fit.Weights, 1e-4);
    }

    [Fact]
    public void Pseudo_inverse_is_the_ridge_inverse_of_a_tall_matrix()
    {
        var w = Random(8, 3, 7);
        var pinv = RidgeRegression.PseudoInverse(w, 1e-6);
        Assert.Equal(new Shape(3, 8), pinv.Weights.Shape);
        var wm = Matrix(w);
        AssertClose(Matrix<double>.Build.DenseIdentity(3), Tensor.FromArray(Matrix(pinv.Weights).Multiply(wm).ToRowMajorArray().Select(v => (float)v).ToArray(), new Shape(3, 3)), 1e-4);
        var expected = (wm.TransposeThisAndMultiply(wm) + 0.7 * Matrix<double>.Build.DenseIdentity(3)).Solve(wm.Transpose());
        AssertClose(expected, RidgeRegression.PseudoInverse(w, 0.7).Weights, 1e-4);
    }

    [Fact]
    public void A_singular_gram_matrix_at_lambda_zero_raises_lambda_and_stays_finite()
    {
        // Two equal columns: AᵀA is singular, so λ = 0 cannot be factored; the solve raises λ to the float32 floor.
        var a = Random(20, 3, 8).ToArray();
        for (int i = 0; i < 20; i++) a[i * 3 + 2] = a[i * 3 + 1];
        var fit = RidgeRegression.Solve(Tensor.FromArray(a, new Shape(20, 3)), Random(20, 1, 9), 0);
        Assert.True(fit.Lambda > 0);
        Assert.All(fit.Weights.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Mismatched_shapes_and_a_negative_lambda_are_refused()
    {
        Assert.Contains("same n", Assert.Throws<ArgumentException>(() => RidgeRegression.Solve(Random(5, 2, 1), Random(4, 1, 1), 1)).Message);
        Assert.Contains("λ", Assert.Throws<ArgumentException>(() => RidgeRegression.Solve(Random(5, 2, 1), Random(5, 1, 1), -1)).Message);
    }

    static Tensor Random(int rows, int cols, ulong seed) => Tensor.Randn(new Shape(rows, cols), new Generator(seed));

    static Matrix<double> Matrix(Tensor t) => Matrix<double>.Build.DenseOfRowMajor(t.Shape[0], t.Shape[1], t.ToArray().Select(v => (double)v));

    static void AssertClose(Matrix<double> expected, Tensor actual, double tolerance)
    {
        Assert.Equal(new Shape(expected.RowCount, expected.ColumnCount), actual.Shape);
        var a = actual.ToArray();
        double scale = Math.Max(1, expected.Enumerate().Max(Math.Abs));
        for (int i = 0; i < expected.RowCount; i++)
            for (int j = 0; j < expected.ColumnCount; j++)
                Assert.True(Math.Abs(expected[i, j] - a[i * expected.ColumnCount + j]) <= tolerance * scale,
                    $"[{i},{j}]: expected {expected[i, j]}, got {a[i * expected.ColumnCount + j]}");
    }
}
