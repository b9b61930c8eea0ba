using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>Seeded lognormal "gradients": |g| = exp(μ + σ·z), z ~ N(0, 1), random sign, and an optional share of exact zeros.</summary>
static class LogNormalSamples
{
    public static float[] Make(int n, double mu, double sigma, ulong seed, double zeroFraction = 0)
    {
        var g = new Generator(seed);
        var z = new float[n];
        g.FillNormal(z);
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            if (zeroFraction > 0 && g.NextDouble() < zeroFraction) continue;
            float m = (float)Math.Exp(mu + sigma * z[i]);
            v[i] = g.NextDouble() < 0.5 ? -m : m;
        }
        return v;
    }

    public static Tensor Tensor(int n, double mu, double sigma, ulong seed, Device device, double zeroFraction = 0) =>
        Frugal.Tensors.Tensor.FromArray(Make(n, mu, sigma, seed, zeroFraction), new Shape(n), device);
}
