using System.Buffers;
using Frugal.Ops;
using Frugal.Tensors;
using MathNet.Numerics.Distributions;

namespace Frugal.Methods.Compression;

/// <summary>
/// The lognormal fit of one neural-gradient tensor (Chmiel et al., ICLR 2021, §3; ../shared/METHODS.md §1).
/// </summary>
/// <param name="Mu">Mean of ln|g| over the non-zero entries (moment estimator).</param>
/// <param name="Sigma">Standard deviation of ln|g| over the non-zero entries.</param>
/// <param name="ZeroFraction">Fraction of entries that are exactly 0.</param>
/// <param name="TailK">Standardised ln|g| at the top-1/300 quantile: the truncation k of <see cref="LogNormal.TruncatedCosine"/>.</param>
/// <param name="KsLogNormal">Kolmogorov–Smirnov statistic of standardised ln|g| against N(0, 1) (NaN when not computed).</param>
/// <param name="KsGaussian">KS statistic of g (non-zeros) against a Gaussian with g's mean and standard deviation.</param>
/// <param name="KsLaplace">KS statistic of g (non-zeros) against a Laplace with g's median and mean absolute deviation.</param>
/// <param name="Samples">Entries the fit used (after subsampling).</param>
public readonly record struct GradientFit(double Mu, double Sigma, double ZeroFraction, double TailK,
                                          double KsLogNormal, double KsGaussian, double KsLaplace, int Samples);

/// <summary>
/// Fits <see cref="GradientFit"/> to a gradient tensor at a cost independent of the tensor's size. A tensor larger
/// than <see cref="FitSampleSize"/> is subsampled by one uniformly chosen entry per equal stratum (unbiased, lower
/// variance than simple random sampling, and sorted indices, so the gather is a near-linear sweep); only the sample
/// leaves the device. μ, σ, the zero fraction and the tail quantile use the whole sample (standard error of μ ≈
/// σ/256, of z ≤ 0.2 pp). The KS statistics are diagnostics, computed only when asked (they sort): on every 4th
/// sample entry (<see cref="KsSampleSize"/>), which puts the KS noise floor at ≈ 0.9/√16384 ≈ 0.007, well below the
/// lognormal-vs-Gaussian gap they are there to show. Measured on a [128, 32, 28, 28] gradient (the cnn's largest):
/// gather 1.5 ms, moments 1 ms, KS ≈ 15–19 ms (docs/METHODS.md §1), so the training method runs KS on every 16th fit.
/// </summary>
public static class GradientStatistics
{
    public const int FitSampleSize = 1 << 16;
    public const int KsSampleSize = 1 << 14;

    /// <summary>Fits the tensor <paramref name="g"/> (any device); <paramref name="seed"/> picks the subsample;
    /// <paramref name="kolmogorovSmirnov"/> false leaves the KS fields NaN (saves two sorts).</summary>
    public static GradientFit Fit(Tensor g, ulong seed, int sampleSize = FitSampleSize, bool kolmogorovSmirnov = true) =>
        FitSample(Sample(g, seed, sampleSize), kolmogorovSmirnov);

    /// <summary>At most <paramref name="sampleSize"/> entries of <paramref name="g"/> on the host: all of them, or one per
    /// equal stratum (<see cref="StratifiedIndices"/>), gathered on the device so only the sample is copied.</summary>
    public static float[] Sample(Tensor g, ulong seed, int sampleSize = FitSampleSize)
    {
        if (sampleSize < 1) throw new ArgumentException($"gradient_fit: sample size must be positive, got {sampleSize}");
        int n = g.Numel;
        if (n <= sampleSize) return g.ToArray();
        return g.View(new Shape(n)).IndexSelect(0, StratifiedIndices(n, sampleSize, seed)).ToArray();
    }

    /// <summary><paramref name="count"/> sorted indices in [0, n): one uniform draw in each of count equal strata.</summary>
    public static int[] StratifiedIndices(int n, int count, ulong seed)
    {
        var g = new Generator(seed);
        var idx = new int[count];
        for (int j = 0; j < count; j++)
        {
            long lo = (long)j * n / count, hi = (long)(j + 1) * n / count;
            idx[j] = (int)(lo + g.NextInt((int)(hi - lo)));
        }
        return idx;
    }

    /// <summary>Fits host values: every entry for μ, σ, z and the tail quantile; a strided subset for the KS statistics.
    /// Scratch buffers are pooled: fresh large arrays every step would cost gen-2 collections (see BufferPool).</summary>
    public static GradientFit FitSample(ReadOnlySpan<float> values, bool kolmogorovSmirnov = true)
    {
        int n = values.Length;
        var pool = ArrayPool<double>.Shared;
        var logBuffer = pool.Rent(Math.Max(1, n));
        try
        {
            int nz = 0;
            double sum = 0, sumSq = 0;
            foreach (var v in values)
            {
                if (v == 0) continue;
                double l = Math.Log(Math.Abs(v));
                logBuffer[nz++] = l;
                sum += l; sumSq += l * l;
            }
            double zeroFraction = n == 0 ? 0 : (double)(n - nz) / n;
            if (nz < 2) return new GradientFit(nz == 1 ? sum : 0, 0, zeroFraction, 0, double.NaN, double.NaN, double.NaN, n);
            double mu = sum / nz;
            double sigma = Math.Sqrt(Math.Max(0, (sumSq - sum * mu) / (nz - 1)));
            if (sigma == 0) return new GradientFit(mu, 0, zeroFraction, 0, double.NaN, double.NaN, double.NaN, n);
            double tailK = (LargestKth(logBuffer.AsSpan(0, nz), Math.Max(1, nz / 300)) - mu) / sigma;
            if (!kolmogorovSmirnov) return new GradientFit(mu, sigma, zeroFraction, tailK, double.NaN, double.NaN, double.NaN, n);

            // The KS subset: every stride-th non-zero entry, so it spans the whole tensor.
            int stride = Math.Max(1, n / KsSampleSize), m = 0;
            var gBuffer = pool.Rent(n / stride + 1);
            try
            {
                for (int i = 0; i < n; i += stride) if (values[i] != 0) gBuffer[m++] = values[i];
                if (m < 2) return new GradientFit(mu, sigma, zeroFraction, tailK, double.NaN, double.NaN, double.NaN, n);
                var g = gBuffer.AsSpan(0, m);
                var z = logBuffer.AsSpan(0, m);          // the fit is done with the logs: reuse their buffer
                for (int i = 0; i < m; i++) z[i] = (Math.Log(Math.Abs(g[i])) - mu) / sigma;
                z.Sort();
                double ksLog = KolmogorovSmirnov(z, x => Normal.CDF(0, 1, x));

                g.Sort();
                double mean = 0, ss = 0, mad = 0;
                foreach (var v in g) mean += v;
                mean /= m;
                foreach (var v in g) ss += (v - mean) * (v - mean);
                double sd = Math.Sqrt(ss / (m - 1));
                double ksGauss = sd > 0 ? KolmogorovSmirnov(g, v => Normal.CDF(mean, sd, v)) : 1;
                double median = m % 2 == 1 ? g[m / 2] : 0.5 * (g[m / 2 - 1] + g[m / 2]);
                foreach (var v in g) mad += Math.Abs(v - median);
                double b = mad / m;
                double ksLaplace = b > 0 ? KolmogorovSmirnov(g, v => Laplace.CDF(median, b, v)) : 1;
                return new GradientFit(mu, sigma, zeroFraction, tailK, ksLog, ksGauss, ksLaplace, n);
            }
            finally { pool.Return(gBuffer); }
        }
        finally { pool.Return(logBuffer); }
    }

    /// <summary>The k-th largest value (k ≥ 1) by a size-k min-heap: O(n log k), and O(n) for the usual rejects.</summary>
    static double LargestKth(ReadOnlySpan<double> values, int k)
    {
        var heap = new PriorityQueue<double, double>(k + 1);
        foreach (var v in values)
        {
            if (heap.Count < k) heap.Enqueue(v, v);
            else if (v > heap.Peek()) heap.EnqueueDequeue(v, v);
        }
        return heap.Peek();
    }

    /// <summary>The one-sample KS statistic D = sup |F_n − F| of ascending <paramref name="sorted"/> against <paramref name="cdf"/>.</summary>
    public static double KolmogorovSmirnov(ReadOnlySpan<double> sorted, Func<double, double> cdf)
    {
        int n = sorted.Length;
        double d = 0;
        for (int i = 0; i < n; i++)
        {
            double f = cdf(sorted[i]);
            d = Math.Max(d, Math.Max((i + 1.0) / n - f, f - (double)i / n));
        }
        return d;
    }
}
