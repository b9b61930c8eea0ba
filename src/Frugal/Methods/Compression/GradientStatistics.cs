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
/// <param name="KsLogNormal">Kolmogorov–Smirnov statistic of standardised ln|g| against N(0, 1).</param>
/// <param name="KsGaussian">KS statistic of g (non-zeros) against a Gaussian with g's mean and standard deviation.</param>
/// <param name="KsLaplace">KS statistic of g (non-zeros) against a Laplace with g's median and mean absolute deviation.</param>
/// <param name="Samples">Entries the fit used (after subsampling).</param>
public readonly record struct GradientFit(double Mu, double Sigma, double ZeroFraction, double TailK,
                                          double KsLogNormal, double KsGaussian, double KsLaplace, int Samples);

/// <summary>
/// Fits <see cref="GradientFit"/> to a gradient tensor. Cost is kept independent of the tensor size: a tensor larger
/// than <see cref="FitSampleSize"/> is subsampled by one uniformly chosen entry per equal stratum (unbiased, lower
/// variance than simple random sampling, and sorted indices, so the gather is a near-linear sweep); only the sample
/// leaves the device. μ, σ and the zero fraction use the whole sample (standard error of μ ≈ σ/256); the KS
/// statistics and the tail quantile use every 4th sample entry (<see cref="KsSampleSize"/>), which puts the KS
/// noise floor at ≈ 0.9/√16384 ≈ 0.007 — well below the lognormal-vs-Gaussian gap the statistic is there to show.
/// </summary>
public static class GradientStatistics
{
    public const int FitSampleSize = 1 << 16;
    public const int KsSampleSize = 1 << 14;

    /// <summary>Fits the tensor <paramref name="g"/> (any device); <paramref name="seed"/> picks the subsample.</summary>
    public static GradientFit Fit(Tensor g, ulong seed, int sampleSize = FitSampleSize)
    {
        if (sampleSize < 1) throw new ArgumentException($"gradient_fit: sample size must be positive, got {sampleSize}");
        int n = g.Numel;
        if (n <= sampleSize) return FitSample(g.ToArray());
        var flat = g.View(new Shape(n));
        return FitSample(flat.IndexSelect(0, StratifiedIndices(n, sampleSize, seed)).ToArray());
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

    /// <summary>Fits host values (every entry used for μ, σ and z; a strided subset for the KS statistics).</summary>
    public static GradientFit FitSample(ReadOnlySpan<float> values)
    {
        int n = values.Length, zeros = 0;
        double sum = 0, sumSq = 0;
        foreach (var v in values)
        {
            if (v == 0) { zeros++; continue; }
            double l = Math.Log(Math.Abs(v));
            sum += l; sumSq += l * l;
        }
        int nz = n - zeros;
        double zeroFraction = n == 0 ? 0 : (double)zeros / n;
        if (nz < 2) return new GradientFit(nz == 1 ? sum : 0, 0, zeroFraction, 0, 0, 0, 0, n);
        double mu = sum / nz;
        double sigma = Math.Sqrt(Math.Max(0, (sumSq - sum * mu) / (nz - 1)));

        // The KS subset: every stride-th non-zero entry, so it spans the whole tensor.
        int stride = Math.Max(1, n / KsSampleSize);
        var sub = new List<float>(Math.Min(n, KsSampleSize + 1));
        for (int i = 0; i < n; i += stride) if (values[i] != 0) sub.Add(values[i]);
        if (sub.Count < 2 || sigma == 0) return new GradientFit(mu, sigma, zeroFraction, 0, 0, 0, 0, n);
        var logs = sub.Select(v => (Math.Log(Math.Abs(v)) - mu) / sigma).ToArray();
        Array.Sort(logs);
        double tailK = logs[Math.Max(0, logs.Length - 1 - logs.Length / 300)];
        double ksLog = KolmogorovSmirnov(logs, z => Normal.CDF(0, 1, z));

        var g = sub.Select(v => (double)v).ToArray();
        Array.Sort(g);
        double mean = g.Average();
        double sd = Math.Sqrt(g.Sum(v => (v - mean) * (v - mean)) / (g.Length - 1));
        double ksGauss = sd > 0 ? KolmogorovSmirnov(g, v => Normal.CDF(mean, sd, v)) : 1;
        double median = g.Length % 2 == 1 ? g[g.Length / 2] : 0.5 * (g[g.Length / 2 - 1] + g[g.Length / 2]);
        double b = g.Average(v => Math.Abs(v - median));
        double ksLaplace = b > 0 ? KolmogorovSmirnov(g, v => Laplace.CDF(median, b, v)) : 1;
        return new GradientFit(mu, sigma, zeroFraction, tailK, ksLog, ksGauss, ksLaplace, n);
    }

    /// <summary>The one-sample KS statistic D = sup |F_n − F| of sorted <paramref name="sorted"/> against <paramref name="cdf"/>.</summary>
    public static double KolmogorovSmirnov(IReadOnlyList<double> sorted, Func<double, double> cdf)
    {
        int n = sorted.Count;
        double d = 0;
        for (int i = 0; i < n; i++)
        {
            double f = cdf(sorted[i]);
            d = Math.Max(d, Math.Max((i + 1.0) / n - f, f - (double)i / n));
        }
        return d;
    }
}
