using Frugal.Methods.Robustness;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Robustness;

public class KurtosisTests
{
    static float[] Draw(int n, ulong seed, Func<Generator, double> sample)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, n).Select(_ => (float)sample(g)).ToArray();
    }

    static double Gaussian(Generator g) => Math.Sqrt(-2 * Math.Log(1 - g.NextDouble())) * Math.Cos(2 * Math.PI * g.NextDouble());

    /// <summary>The paper's reference values: uniform 1.8, Gaussian 3, Laplace 6.</summary>
    [Fact]
    public void Kurtosis_of_uniform_gaussian_and_laplace_samples()
    {
        Assert.Equal(1.8, Kurtosis.Of(Draw(200_000, 1, g => g.NextDouble() * 2 - 1)), 0.02);
        Assert.Equal(3.0, Kurtosis.Of(Draw(200_000, 2, Gaussian)), 0.06);
        Assert.Equal(6.0, Kurtosis.Of(Draw(400_000, 3, g => (g.NextDouble() < 0.5 ? -1 : 1) * -Math.Log(1 - g.NextDouble()))), 0.3);
    }

    [Theory]
    [InlineData(KurtosisStd.Population)]
    [InlineData(KurtosisStd.Unbiased)]
    public void Tensor_kurtosis_equals_the_host_formula(KurtosisStd std)
    {
        var w = Draw(37, 4, Gaussian);
        float op = Kurtosis.Of(Tensor.FromArray(w, 37), std).Item();
        Assert.Equal(Kurtosis.Of(w, std), op, 4);
        // Unbiased σ is larger by n/(n − 1), so the kurtosis is smaller by its square.
        if (std == KurtosisStd.Unbiased) Assert.Equal(Kurtosis.Of(w) * Math.Pow(36.0 / 37, 2), op, 4);
    }

    [Theory]
    [InlineData(KurtosisStd.Population)]
    [InlineData(KurtosisStd.Unbiased)]
    public void Kurtosis_gradient_matches_finite_differences(KurtosisStd std)
    {
        var w = Check.Param(Device.Cpu, 5, 4, 3, 2);
        Check.Gradients(x => Kurtosis.Of(x[0], std), w);
    }
}
