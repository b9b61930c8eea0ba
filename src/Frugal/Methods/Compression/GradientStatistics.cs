using System.Buffers;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
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
/// than the sample is subsampled by one uniformly chosen entry per equal stratum (unbiased, lower variance than simple
/// random sampling, and sorted indices, so the gather is a near-linear sweep); only the sample leaves the device.
/// μ, σ, the zero fraction and the tail quantile use the whole sample: the logs are taken vectorised
/// (<see cref="TensorPrimitives.Log(ReadOnlySpan{float}, Span{float})"/>) in a pooled buffer and the quantile is a
/// quickselect in place, so a fit allocates nothing. <see cref="FitSampleSize"/> = 4096 was chosen on the cnn's real
/// gradients (docs/METHODS.md §1): the threshold's sampling error moves the achieved sparsity by ≈ 0.3 pp (rms), a
/// tenth of the lognormal model's own error there, while the fit costs tens of µs instead of ~2 ms at 65536.
/// The KS statistics are diagnostics, computed only when asked (they sort): on at most <see cref="KsSampleSize"/>
/// evenly strided sample entries (noise floor ≈ 0.9/√n: 0.014 at 4096, well below the lognormal-vs-Gaussian gap).
/// </summary>
public static class GradientStatistics
{
    public const int FitSampleSize = 1 << 12;
    public const int KsSampleSize = 1 << 14;

    [ThreadStatic] static Generator? _strata;

    /// <summary>Fits the tensor <paramref name="g"/> (any device); <paramref name="seed"/> picks the subsample;
    /// <paramref name="kolmogorovSmirnov"/> false leaves the KS fields NaN (saves two sorts).</summary>
    public static GradientFit Fit(Tensor g, ulong seed, int sampleSize = FitSampleSize, bool kolmogorovSmirnov = true) =>
        FitSample(Sample(g, seed, sampleSize), kolmogorovSmirnov);

    /// <summary>At most <paramref name="sampleSize"/> entries of <paramref name="g"/> on the host, in a fresh array (see
    /// <see cref="Sample(Tensor, ulong, Span{float})"/>).</summary>
    public static float[] Sample(Tensor g, ulong seed, int sampleSize = FitSampleSize)
    {
        if (sampleSize < 1) throw new ArgumentException($"gradient_fit: sample size must be positive, got {sampleSize}");
        var sample = new float[Math.Min(sampleSize, g.Numel)];
        Sample(g, seed, sample);
        return sample;
    }

    /// <summary>
    /// Fills <paramref name="sample"/> with entries of <paramref name="g"/> and returns how many: all of them when g has
    /// no more than sample.Length, else one per equal stratum (<see cref="StratifiedIndices"/>, the same draws). A CPU
    /// tensor is read in place (no index array, no gathered tensor); other devices gather on the device and copy only
    /// the sample.
    /// </summary>
    public static int Sample(Tensor g, ulong seed, Span<float> sample)
    {
        int n = g.Numel, count = sample.Length;
        if (count < 1) throw new ArgumentException("gradient_fit: sample size must be positive, got 0");
        bool host = g.Device == Device.Cpu;
        if (n <= count)
        {
            if (host) g.Span.CopyTo(sample); else g.ToArray().CopyTo(sample);
            return n;
        }
        if (!host)
        {
            g.View(new Shape(n)).IndexSelect(0, StratifiedIndices(n, count, seed)).ToArray().CopyTo(sample);
            return count;
        }
        var source = g.Span;
        var rng = _strata ??= new Generator(0);
        rng.Reseed(seed);
        for (int j = 0; j < count; j++) sample[j] = source[StratumDraw(rng, j, n, count)];
        return count;
    }

    /// <summary><paramref name="count"/> sorted indices in [0, n): one uniform draw in each of count equal strata.</summary>
    public static int[] StratifiedIndices(int n, int count, ulong seed)
    {
        var g = new Generator(seed);
        var idx = new int[count];
        for (int j = 0; j < count; j++) idx[j] = StratumDraw(g, j, n, count);
        return idx;
    }

    /// <summary>One uniform index in stratum j of count equal strata of [0, n): [⌊j·n/count⌋, ⌊(j+1)·n/count⌋).</summary>
    static int StratumDraw(Generator g, int j, int n, int count)
    {
        long lo = (long)j * n / count, hi = (long)(j + 1) * n / count;
        return (int)(lo + g.NextInt((int)(hi - lo)));
    }

    /// <summary>Fits host values: every entry for μ, σ, z and the tail quantile; a strided subset for the KS statistics.
    /// The scratch buffer is pooled: fresh arrays every step would cost collections (see BufferPool).</summary>
    public static GradientFit FitSample(ReadOnlySpan<float> values, bool kolmogorovSmirnov = true)
    {
        int n = values.Length;
        var logBuffer = ArrayPool<float>.Shared.Rent(Math.Max(1, n));
        try
        {
            int nz = 0;
            foreach (var v in values) if (v != 0) logBuffer[nz++] = MathF.Abs(v);
            double zeroFraction = n == 0 ? 0 : (double)(n - nz) / n;
            var logs = logBuffer.AsSpan(0, nz);
            TensorPrimitives.Log(logs, logs);
            // Moments in double: the float logs are exact to ~1e-7 relative, the sums of thousands of them are not.
            double sum = 0, sumSq = 0;
            foreach (var l in logs) { sum += l; sumSq += (double)l * l; }
            GradientFit Spreadless(double mu, double sigma) => new(mu, sigma, zeroFraction, 0, double.NaN, double.NaN, double.NaN, n);
            if (nz < 2) return Spreadless(nz == 1 ? sum : 0, 0);
            double mu = sum / nz;
            if (!double.IsFinite(sumSq)) return Spreadless(mu, double.NaN);     // an infinite or NaN entry: no usable fit
            double sigma = Math.Sqrt(Math.Max(0, (sumSq - sum * mu) / (nz - 1)));
            if (sigma == 0) return Spreadless(mu, 0);
            double tailK = (LargestKth(logs, Math.Max(1, nz / 300)) - mu) / sigma;
            var fit = new GradientFit(mu, sigma, zeroFraction, tailK, double.NaN, double.NaN, double.NaN, n);
            return kolmogorovSmirnov ? WithKolmogorovSmirnov(fit, values) : fit;
        }
        finally { ArrayPool<float>.Shared.Return(logBuffer); }
    }

    /// <summary><paramref name="fit"/> of <paramref name="values"/> with its KS fields filled in, from every stride-th
    /// non-zero entry (so the subset spans the whole tensor): standardised ln|g| against N(0, 1), and g against a Gaussian
    /// and a Laplace of its own location and scale. Apart from the fit so a caller can keep the diagnostics off its hot path.</summary>
    public static GradientFit WithKolmogorovSmirnov(GradientFit fit, ReadOnlySpan<float> values)
    {
        if (!(fit.Sigma > 0) || !double.IsFinite(fit.Mu)) return fit;
        var (ksLog, ksGauss, ksLaplace) = KsStatistics(values, fit.Mu, fit.Sigma);
        return fit with { KsLogNormal = ksLog, KsGaussian = ksGauss, KsLaplace = ksLaplace };
    }

    static (double LogNormal, double Gaussian, double Laplace) KsStatistics(ReadOnlySpan<float> values, double mu, double sigma)
    {
        int n = values.Length, stride = Math.Max(1, n / KsSampleSize), m = 0;
        var pool = ArrayPool<double>.Shared;
        var gBuffer = pool.Rent(n / stride + 1);
        var zBuffer = pool.Rent(n / stride + 1);
        try
        {
            for (int i = 0; i < n; i += stride) if (values[i] != 0) gBuffer[m++] = values[i];
            if (m < 2) return (double.NaN, double.NaN, double.NaN);
            var g = gBuffer.AsSpan(0, m);
            var z = zBuffer.AsSpan(0, m);
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
            return (ksLog, ksGauss, ksLaplace);
        }
        finally { pool.Return(gBuffer); pool.Return(zBuffer); }
    }

    /// <summary>The k-th largest of finite <paramref name="values"/> (1 ≤ k ≤ length) by quickselect in place (Hoare
    /// partition around a median of three): O(n) expected, no allocation; reorders the span.</summary>
    internal static float LargestKth(Span<float> values, int k)
    {
        int target = values.Length - k, lo = 0, hi = values.Length - 1;
        while (lo < hi)
        {
            float a = values[lo], b = values[lo + (hi - lo) / 2], c = values[hi];
            float pivot = Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
            int i = lo, j = hi;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j) { (values[i], values[j]) = (values[j], values[i]); i++; j--; }
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else break;                     // j < target < i: values[target] equals the pivot
        }
        return values[target];
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
