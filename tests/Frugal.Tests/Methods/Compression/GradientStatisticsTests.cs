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
        var f = GradientStatistics.Fit(t, seed: 4);
        Assert.Equal(GradientStatistics.FitSampleSize, f.Samples);
        Assert.True(Math.Abs(f.Mu + 8) < 0.045, $"μ {f.Mu}");
        Assert.True(Math.Abs(f.Sigma - 1.5) < 0.025, $"σ {f.Sigma}");
        Assert.True(Math.Abs(f.ZeroFraction - 0.3) < 0.009, $"z {f.ZeroFraction}");
        Assert.True(f.KsLogNormal < 0.02, $"KS lognormal {f.KsLogNormal}");
        Assert.True(f.KsGaussian > 0.2, $"KS Gaussian {f.KsGaussian}");
        Assert.True(f.KsLaplace > 5 * f.KsLogNormal, $"KS Laplace {f.KsLaplace}");
        // k at the top-1/300 quantile: Φ⁻¹(1 − 1/300) = 2.71 for a true normal ln|g|.
        Assert.True(Math.Abs(f.TailK - Normal.InvCDF(0, 1, 1 - 1.0 / 300)) < 0.1, $"k {f.TailK}");

        var cheap = GradientStatistics.Fit(t, seed: 4, kolmogorovSmirnov: false);
        Assert.Equal(f.Mu, cheap.Mu);
        Assert.True(double.IsNaN(cheap.KsLogNormal));
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
