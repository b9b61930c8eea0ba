using Frugal.Methods.Compression;
using Frugal.Tensors;
using Normal = MathNet.Numerics.Distributions.Normal;

namespace Frugal.Tests.Methods.Compression;

public class GradientStatisticsTests
{
    /// <summary>
    /// 400k lognormal samples with 30% zeros, fitted through the stratified 65536-entry subsample: μ has standard error
    /// σ/√(0.7·65536) ≈ 0.009 (σ = 1.5), σ about σ/√(2·45875) ≈ 0.005, z about 0.0018; tolerances are 5 of those.
    /// The KS statistic of a true lognormal on 16k points is ≈ 0.9/√(0.7·16384) ≈ 0.008 (noise floor); Gaussian and
    /// Laplace fits to the same data are far worse (heavy tails).
    /// </summary>
    [Fact]
    public void Fit_recovers_mu_sigma_and_zeros_and_KS_prefers_lognormal()
    {
        var t = LogNormalSamples.Tensor(400_000, -8, 1.5, 21, Device.Cpu, zeroFraction: 0.3);
        var f = GradientStatistics.Fit(t, seed: 4, sampleSize: 1 << 16);
        Assert.Equal(1 << 16, f.Samples);
        Assert.True(Math.Abs(f.Mu + 8) < 0.045, $"μ {f.Mu}");
        Assert.True(Math.Abs(f.Sigma - 1.5) < 0.025, $"σ {f.Sigma}");
        Assert.True(Math.Abs(f.ZeroFraction - 0.3) < 0.009, $"z {f.ZeroFraction}");
        Assert.True(f.KsLogNormal < 0.02, $"KS lognormal {f.KsLogNormal}");
        Assert.True(f.KsGaussian > 0.2, $"KS Gaussian {f.KsGaussian}");
        Assert.True(f.KsLaplace > 5 * f.KsLogNormal, $"KS Laplace {f.KsLaplace}");
        // k at the top-1/300 quantile: Φ⁻¹(1 − 1/300) = 2.71 for a true normal ln|g|.
        Assert.True(Math.Abs(f.TailK - Normal.InvCDF(0, 1, 1 - 1.0 / 300)) < 0.1, $"k {f.TailK}");

        var cheap = GradientStatistics.Fit(t, seed: 4, sampleSize: 1 << 16, kolmogorovSmirnov: false);
        Assert.Equal(f.Mu, cheap.Mu);
        Assert.True(double.IsNaN(cheap.KsLogNormal));
    }

    /// <summary>The default sample (4096 entries of 400k): μ within 5 standard errors (σ/√(0.7·4096) ≈ 0.028), σ within
    /// 5 of ≈ 0.02, z within 5 of ≈ 0.007; and the vectorised float logs give the moments of double logs to ~1e-6.</summary>
    [Fact]
    public void Default_sample_fit_is_within_its_sampling_error_and_matches_double_logs()
    {
        var t = LogNormalSamples.Tensor(400_000, -8, 1.5, 21, Device.Cpu, zeroFraction: 0.3);
        var sample = GradientStatistics.Sample(t, seed: 4);
        Assert.Equal(GradientStatistics.FitSampleSize, sample.Length);
        var f = GradientStatistics.FitSample(sample, kolmogorovSmirnov: false);
        Assert.True(Math.Abs(f.Mu + 8) < 0.14, $"μ {f.Mu}");
        Assert.True(Math.Abs(f.Sigma - 1.5) < 0.1, $"σ {f.Sigma}");
        Assert.True(Math.Abs(f.ZeroFraction - 0.3) < 0.035, $"z {f.ZeroFraction}");
        var logs = sample.Where(v => v != 0).Select(v => Math.Log(Math.Abs(v))).ToArray();
        double mu = logs.Average(), sd = Math.Sqrt(logs.Sum(l => (l - mu) * (l - mu)) / (logs.Length - 1));
        Assert.Equal(mu, f.Mu, 1e-5);
        Assert.Equal(sd, f.Sigma, 1e-5);
        var withKs = GradientStatistics.WithKolmogorovSmirnov(f, sample);
        Assert.Equal(f.Mu, withKs.Mu);
        Assert.InRange(withKs.KsLogNormal, 0, 0.03);
    }

    [Fact]
    public void Host_sample_is_the_stratified_gather_and_small_tensors_are_copied_whole()
    {
        var t = LogNormalSamples.Tensor(10_007, -3, 1, 2, Device.Cpu);
        var idx = GradientStatistics.StratifiedIndices(10_007, 100, 9);
        var x = t.ToArray();
        var buffer = new float[100];
        Assert.Equal(100, GradientStatistics.Sample(t, 9, buffer));
        Assert.Equal(idx.Select(i => x[i]).ToArray(), buffer);
        var big = new float[20_000];
        Assert.Equal(10_007, GradientStatistics.Sample(t, 9, big));
        Assert.Equal(x, big[..10_007]);
    }

    [Fact]
    public void Quickselect_gives_the_kth_largest()
    {
        var g = new Generator(3);
        foreach (var n in new[] { 1, 2, 7, 33, 1000 })
        {
            // Few distinct values too, so ties and equal pivots are exercised.
            var v = Enumerable.Range(0, n).Select(i => i % 3 == 0 ? (float)g.NextInt(5) : g.NextFloat()).ToArray();
            var sorted = v.OrderByDescending(x => x).ToArray();
            foreach (var k in new[] { 1, Math.Max(1, n / 300), Math.Max(1, n / 2), n })
                Assert.Equal(sorted[k - 1], GradientStatistics.LargestKth((float[])v.Clone(), k));
        }
    }

    [Fact]
    public void Gaussian_gradients_are_told_apart_from_lognormal_ones()
    {
        var g = new float[50_000];
        new Generator(5).FillNormal(g);
        var f = GradientStatistics.FitSample(g);
        Assert.True(f.KsGaussian < 0.02, $"KS Gaussian {f.KsGaussian}");
        Assert.True(f.KsLogNormal > 0.05, $"KS lognormal {f.KsLogNormal}");
    }

    [Fact]
    public void Subsample_is_stratified_sorted_and_seeded()
    {
        var a = GradientStatistics.StratifiedIndices(1000, 100, 3);
        Assert.Equal(a, GradientStatistics.StratifiedIndices(1000, 100, 3));
        for (int j = 0; j < 100; j++) Assert.InRange(a[j], 10 * j, 10 * j + 9);
        Assert.NotEqual(a, GradientStatistics.StratifiedIndices(1000, 100, 4));
    }

    [Fact]
    public void Degenerate_tensors_give_a_fit_with_no_spread()
    {
        var zeros = GradientStatistics.FitSample(new float[100]);
        Assert.Equal(1, zeros.ZeroFraction);
        Assert.Equal(0, zeros.Sigma);
        Assert.Equal(0, GradientStatistics.FitSample(Enumerable.Repeat(0.5f, 10).ToArray()).Sigma);
    }
}
