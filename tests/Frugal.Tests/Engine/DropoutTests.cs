using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class DropoutTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Mask_drops_a_fraction_p_and_scales_survivors(string device)
    {
        var d = Device.Parse(device);
        foreach (var p in new[] { 0.1f, 0.5f, 0.8f })
        {
            var y = Tensor.Full(new Shape(100, 201), 1f, d).Dropout(p, training: true, new Generator(1)).ToArray();
            int zeros = y.Count(v => v == 0);
            Assert.All(y, v => Assert.True(v == 0 || v == 1f / (1 - p), $"value {v} is neither 0 nor 1/(1 − p)"));
            // 20100 Bernoulli draws: the standard deviation of the fraction is below 0.0036.
            Assert.InRange(zeros / (double)y.Length, p - 0.015, p + 0.015);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Same_seed_gives_the_same_mask_on_every_device(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Randn(new Shape(7, 9), new Generator(2), d);
        var a = x.Dropout(0.4f, true, new Generator(42)).ToArray();
        var onCpu = x.To(Device.Cpu).Dropout(0.4f, true, new Generator(42)).ToArray();
        Assert.Equal(onCpu, a);
        Assert.NotEqual(a, x.Dropout(0.4f, true, new Generator(43)).ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Identity_in_evaluation_and_for_p_zero(string device)
    {
        var x = Tensor.Randn(new Shape(3, 4), new Generator(3), Device.Parse(device));
        Assert.Same(x, x.Dropout(0.5f, training: false));
        Assert.Same(x, x.Dropout(0f, training: true));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gradient_is_the_mask_times_the_scale(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Full(new Shape(5, 13), 1f, d);
        x.RequiresGrad = true;
        var y = x.Dropout(0.3f, true, new Generator(4));
        y.Sum().Backward();
        Assert.Equal(y.ToArray(), x.Grad!.ToArray());      // x = 1, so y is the scaled mask
        Check.Gradients(t => t[0].Dropout(0.5f, true, new Generator(5)), Check.Param(d, 6, 4, 5));
    }

    [Fact]
    public void Probability_outside_zero_one_is_an_error()
    {
        foreach (var p in new[] { -0.1f, 1f, 1.5f, float.NaN })
        {
            var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).Dropout(p, true));
            Assert.Contains("dropout", ex.Message);
            Assert.Contains(p.ToString(), ex.Message);
        }
    }
}
