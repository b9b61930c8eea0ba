using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class ReductionTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Sum_mean_max_over_axes(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Arange(24, d).Reshape(2, 3, 4);
        Assert.Equal(276f, x.Sum().Item());
        Assert.Equal(11.5f, x.Mean().Item());
        Assert.Equal(new Shape(2, 4), x.Sum(1).Shape);
        Assert.Equal([12, 15, 18, 21, 48, 51, 54, 57], x.Sum(1).ToArray());
        Assert.Equal(new Shape(1, 3, 1), x.Sum([0, 2], keepDim: true).Shape);
        Assert.Equal([60, 92, 124], x.Sum([0, 2]).ToArray());   // Σ_{i,k} 12i + 4j + k = 32j + 60
        Assert.Equal([3, 7, 11, 15, 19, 23], x.Max(-1).ToArray());
        Assert.Equal([20, 21, 22, 23], x.Max(0).Max(0).ToArray());
        Assert.Equal([2, 2, 2, 2, 2, 2, 2, 2], x.ArgMax(1).Select(i => (float)i).ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Reduction_gradients(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 5, 2, 3, 4);
        Check.Gradients(t => t[0].Sum(), x);
        Check.Gradients(t => t[0].Sum(1), x);
        Check.Gradients(t => t[0].Sum([0, 2], keepDim: true), x);
        Check.Gradients(t => t[0].Mean(-1), x);
        Check.Gradients(t => t[0].Mean([0, 1]), x);
        Check.Gradients(t => t[0].Max(1), x);
        Check.Gradients(t => t[0].Max(-1, keepDim: true), x);
        Check.Gradients(t => t[0].Sum(0), Check.Param(d, 6, 1, 1));
    }

    [Fact]
    public void Bad_axis_is_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Sum(2));
        Assert.Contains("axis 2", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
    }
}
