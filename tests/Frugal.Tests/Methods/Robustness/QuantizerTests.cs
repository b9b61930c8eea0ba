using Frugal.Methods.Robustness;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Robustness;

public class QuantizerTests
{
    static float[] Uniform(int n, float a, ulong seed)
    {
        var g = new Generator(seed);
        return Enumerable.Range(0, n).Select(_ => (float)((g.NextDouble() * 2 - 1) * a)).ToArray();
    }

    static float[] Gaussian(int n, ulong seed) => Tensor.Randn(new Shape(n), new Generator(seed)).ToArray();

    [Theory]
    [InlineData(2, true)]
    [InlineData(3, true)]
    [InlineData(8, true)]
    [InlineData(4, false)]
    public void Round_trip_error_is_at_most_half_a_step_inside_the_range_and_codes_are_on_the_grid(int bits, bool signed)
    {
        var q = UniformQuantizer.Create(bits, signed);
        Assert.Equal(signed ? 1 << (bits - 1) : 0, q.Qn);
        Assert.Equal(signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1, q.Qp);
        const float step = 0.37f;
        var x = Uniform(5000, 2 * q.Qp * step, 1);
        var y = new float[x.Length];
        q.Quantize(x, step, y);
        for (int i = 0; i < x.Length; i++)
        {
            float code = y[i] / step;
            Assert.True(MathF.Abs(code - MathF.Round(code)) < 1e-3f && code >= -q.Qn && code <= q.Qp, $"{y[i]} is not on the grid");
            if (x[i] >= -q.Qn * step && x[i] <= q.Qp * step) Assert.True(MathF.Abs(y[i] - x[i]) <= step / 2 * 1.0001f, $"{x[i]} → {y[i]}");
            else Assert.Equal(x[i] < 0 ? -q.Qn * step : q.Qp * step, y[i], 5);
        }
    }

    /// <summary>METHODS.md §5: for X ~ U[−a, a] the MSE-optimal step of an M-bit quantiser is ≈ 2a/2^M (exact for 2^M
    /// levels placed symmetrically; the two's-complement grid has one level fewer above zero than below, which moves the
    /// optimum up by 5–9% at 2–4 bits).</summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(6)]
    public void Mse_search_finds_2a_over_2_to_the_M_for_uniform_data(int bits)
    {
        const float a = 1.5f;
        var x = Uniform(100_000, a, 2);
        var q = UniformQuantizer.Create(bits, signed: true);
        float step = q.MseOptimalStep(x);
        double ratio = step / (2 * a / (1 << bits));
        Assert.True(ratio > 0.99 && ratio < 1.1, $"W{bits}: step {step}, expected ≈ {2 * a / (1 << bits)}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Mse_search_beats_max_scaling_on_gaussian_data_and_is_a_local_minimum(int bits)
    {
        var x = Gaussian(50_000, 3);
        var q = UniformQuantizer.Create(bits, signed: true);
        float best = q.MseOptimalStep(x), max = q.MaxStep(x);
        Assert.True(q.Mse(x, best) < 0.5 * q.Mse(x, max), $"W{bits}: MSE {q.Mse(x, best):G3} at the searched step vs {q.Mse(x, max):G3} at max scaling");
        foreach (var r in new[] { 0.97f, 1.03f }) Assert.True(q.Mse(x, best) <= q.Mse(x, best * r) * 1.0001, $"W{bits}: step·{r} is better");
    }

    [Fact]
    public void Power_of_two_step_is_the_better_neighbouring_power_of_two()
    {
        var x = Gaussian(10_000, 4);
        var q = UniformQuantizer.Create(4, signed: true);
        float step = q.MseOptimalStep(x), p = q.PowerOfTwoStep(x, step);
        Assert.Equal(MathF.Round(MathF.Log2(p)), MathF.Log2(p));
        Assert.True(p >= step / 2 && p <= step * 2);
        Assert.True(q.Mse(x, p) <= Math.Min(q.Mse(x, p / 2), q.Mse(x, p * 2)));
    }

    /// <summary>STE: the input's gradient passes where v/s lies in [−Q_N, Q_P] and is zero where it was clipped.</summary>
    [Fact]
    public void Straight_through_gradient_passes_inside_the_range_only()
    {
        var q = UniformQuantizer.Create(3, signed: true);
        var x = Tensor.FromArray([-9f, -3.9f, -0.2f, 0.26f, 2.9f, 3.2f, 40f], 7);
        x.RequiresGrad = true;
        var step = Tensor.Scalar(1);
        var g = Tensor.FromArray([1f, 2, 3, 4, 5, 6, 7], 7);
        LsqFakeQuantize.Apply(x, step, q).Mul(g).Sum().Backward();
        Assert.Equal([0f, 2, 3, 4, 5, 0, 0], x.Grad!.ToArray());
    }

    /// <summary>
    /// LSQ's step gradient. In the clipped regime v̂ = −Q_N·s or Q_P·s, so its derivative is exact and equals the finite
    /// difference of the loss; inside the range it is LSQ's estimator Σ g·(round(v/s) − v/s), scaled by g = 1/√(N·Q_P).
    /// </summary>
    [Fact]
    public void Lsq_step_gradient_matches_finite_differences_where_clipped_and_the_estimator_inside()
    {
        var q = UniformQuantizer.Create(4, signed: true);
        var clipped = Tensor.FromArray([-30f, -12f, 9f, 25f], 4);
        var weights = Tensor.FromArray([0.5f, -1.5f, 2f, 1f], 4);
        var step = Tensor.Scalar(0.5f);
        step.RequiresGrad = true;
        Check.Gradients(s => LsqFakeQuantize.Apply(clipped, s[0], q).Mul(weights).Sum(), step);

        var v = Tensor.Randn(new Shape(1000), new Generator(5));
        var g = Tensor.Randn(new Shape(1000), new Generator(6));
        var s2 = Tensor.Scalar(0.3f);
        s2.RequiresGrad = true;
        float scale = LsqFakeQuantize.GradScale(1000, q);
        Assert.Equal(1 / Math.Sqrt(1000.0 * 7), scale, 6);
        LsqFakeQuantize.Apply(v, s2, q, scale).Mul(g).Sum().Backward();
        double expected = 0;
        var (va, ga) = (v.ToArray(), g.ToArray());
        for (int i = 0; i < va.Length; i++)
        {
            double u = va[i] / 0.3f;
            expected += ga[i] * (u < -q.Qn ? -q.Qn : u > q.Qp ? q.Qp : Math.Round(u, MidpointRounding.ToEven) - u);
        }
        Assert.Equal(expected * scale, s2.Grad!.Item(), 3);
    }
}
