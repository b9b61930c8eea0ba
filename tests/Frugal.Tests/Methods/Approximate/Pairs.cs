using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;
using Frugal.Tests.Training;

namespace Frugal.Tests.Methods.Approximate;

/// <summary>Operand pairs A (m×n), B (n×p) for the estimator tests, and the sampled estimate on the host in double.</summary>
static class Pairs
{
    public sealed record Pair(string Name, double[,] A, double[,] B)
    {
        public int M => A.GetLength(0);
        public int N => A.GetLength(1);
        public int P => B.GetLength(1);

        /// <summary>a_i = ‖A[:,i]‖·‖B[i,:]‖.</summary>
        public double[] Weights()
        {
            var w = new double[N];
            for (int i = 0; i < N; i++)
            {
                double ca = 0, rb = 0;
                for (int r = 0; r < M; r++) ca += A[r, i] * A[r, i];
                for (int c = 0; c < P; c++) rb += B[i, c] * B[i, c];
                w[i] = Math.Sqrt(ca) * Math.Sqrt(rb);
            }
            return w;
        }

        public double[,] Exact() => Estimate(ColumnSample.Exact(N));

        double[,]? _gram;
        double[]? _gramRowSums;
        double _gramTotal;

        /// <summary>‖A·diag(d)·B‖²_F = dᵀ·((AᵀA) ∘ (BBᵀ))·d: the error of an estimate whose term factors are 1 + d_i,
        /// in O(n²) instead of forming the m×p product.</summary>
        public double QuadraticError(double[] d)
        {
            Gram();
            double s = 0;
            for (int i = 0; i < N; i++)
            {
                if (d[i] == 0) continue;
                double row = 0;
                for (int j = 0; j < N; j++) row += _gram![i, j] * d[j];
                s += d[i] * row;
            }
            return s;
        }

        void Gram()
        {
            if (_gram == null)
            {
                var g = new double[N, N];
                for (int i = 0; i < N; i++)
                    for (int j = 0; j <= i; j++)
                    {
                        double aa = 0, bb = 0;
                        for (int r = 0; r < M; r++) aa += A[r, i] * A[r, j];
                        for (int c = 0; c < P; c++) bb += B[i, c] * B[j, c];
                        g[i, j] = g[j, i] = aa * bb;
                    }
                _gramRowSums = new double[N];
                for (int i = 0; i < N; i++) for (int j = 0; j < N; j++) _gramRowSums[i] += g[i, j];
                _gramTotal = _gramRowSums.Sum();
                _gram = g;
            }
        }

        /// <summary>The factor of every term in a sample (0 for dropped terms).</summary>
        public double[] Factors(ColumnSample s)
        {
            var f = new double[N];
            for (int j = 0; j < s.Count; j++) f[s.Indices[j]] += s.Scales?[j] ?? 1;
            return f;
        }

        /// <summary>‖estimate − AB‖²_F = fᵀGf − 2·fᵀG1 + 1ᵀG1 for the sample's factors f (k non-zeros: O(k²)).</summary>
        public double SquaredError(ColumnSample s)
        {
            Gram();
            var f = Factors(s);
            double quad = 0, lin = 0;
            foreach (var i in s.Indices)
            {
                lin += f[i] * _gramRowSums![i];
                foreach (var j in s.Indices) quad += f[i] * _gram![i, j] * f[j];
            }
            return quad - 2 * lin + _gramTotal;
        }

        /// <summary>Σ_j scale_j · A[:,i_j] ⊗ B[i_j,:].</summary>
        public double[,] Estimate(ColumnSample s)
        {
            var y = new double[M, P];
            for (int j = 0; j < s.Count; j++)
            {
                int i = s.Indices[j];
                double f = s.Scales?[j] ?? 1;
                for (int r = 0; r < M; r++)
                {
                    double ar = f * A[r, i];
                    for (int c = 0; c < P; c++) y[r, c] += ar * B[i, c];
                }
            }
            return y;
        }
    }

    public static double SquaredDistance(double[,] x, double[,] y)
    {
        double s = 0;
        for (int r = 0; r < x.GetLength(0); r++)
            for (int c = 0; c < x.GetLength(1); c++) { double d = x[r, c] - y[r, c]; s += d * d; }
        return s;
    }

    /// <summary>Gaussian A and B whose columns/rows have log-normal scales, so the term weights spread over two decades.</summary>
    public static Pair Synthetic(ulong seed, int m = 30, int n = 60, int p = 12)
    {
        var g = new Generator(seed);
        var a = new double[m, n]; var b = new double[n, p];
        for (int i = 0; i < n; i++)
        {
            double sa = Math.Exp(g.NextDouble() * 2 - 1), sb = Math.Exp(g.NextDouble() * 2 - 1);
            var col = new float[m]; g.FillNormal(col);
            var row = new float[p]; g.FillNormal(row);
            for (int r = 0; r < m; r++) a[r, i] = sa * col[r];
            for (int c = 0; c < p; c++) b[i, c] = sb * row[c];
        }
        return new Pair("synthetic", a, b);
    }

    /// <summary>An activation/weight pair from a network on images: A = ReLU hidden activations of a random 784-64 layer
    /// on 32 synthetic images (the data set the trainer tests learn), B = the next layer's weight, transposed (64×10).
    /// Sparse, non-negative, correlated columns: what the layers meet in training. No files needed.</summary>
    public static Pair Activations()
    {
        var data = SyntheticImages.Make(32, 4, 11);
        var x = Tensor.FromArray(data.Pixels.Select(v => v / 255f).ToArray(), new Shape(32, 784));
        var l1 = new Linear(784, 64, generator: new Generator(12));
        var l2 = new Linear(64, 10, generator: new Generator(13));
        var h = x.Linear(l1.Weight, l1.Bias).Relu().ToArray();
        var w2 = l2.Weight.ToArray();                // [10, 64]
        var a = new double[32, 64]; var b = new double[64, 10];
        for (int r = 0; r < 32; r++) for (int i = 0; i < 64; i++) a[r, i] = h[r * 64 + i];
        for (int i = 0; i < 64; i++) for (int c = 0; c < 10; c++) b[i, c] = w2[c * 64 + i];
        return new Pair("activations", a, b);
    }

    public static IEnumerable<Pair> All() => [Synthetic(1), Activations()];
}

/// <summary>A sampler that returns a fixed choice per dimension size, to freeze sampling in gradient checks.</summary>
sealed class FixedSampler(Func<int, ColumnSample> pick) : IColumnSampler
{
    public string Name => "fixed";
    public bool Unbiased => true;
    public ColumnSample Sample(ReadOnlySpan<double> weights, int k, Generator rng) => pick(weights.Length);
}
