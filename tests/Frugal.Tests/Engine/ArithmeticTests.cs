using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class ArithmeticTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Broadcasting_matches_numpy_rules(string device)
    {
        var d = Device.Parse(device);
        var a = Tensor.FromArray([1, 2, 3, 4, 5, 6], new Shape(2, 3), d);
        var b = Tensor.FromArray([10, 20, 30], new Shape(3), d);
        var c = Tensor.FromArray([100, 200], new Shape(2, 1), d);
        Assert.Equal([11, 22, 33, 14, 25, 36], (a + b).ToArray());
        Assert.Equal([101, 102, 103, 204, 205, 206], (a + c).ToArray());
        Assert.Equal(new Shape(2, 3), (b + c).Shape);
        Assert.Equal([110, 120, 130, 210, 220, 230], (b + c).ToArray());
        Assert.Equal([10, 40, 90, 40, 100, 180], (a * b).ToArray());
        Assert.Equal([0.1f, 0.1f, 0.1f, 0.4f, 0.25f, 0.2f], (a / b).ToArray(), new FloatEq(1e-6f));
        Assert.Equal([-9, -18, -27, -6, -15, -24], (a - b).ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Broadcast_of_size_one_middle_axis(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Arange(24, d).Reshape(2, 3, 4);
        var s = Tensor.FromArray([1, 2, 3], new Shape(1, 3, 1), d);
        var y = (x * s).ToArray();
        for (int i = 0; i < 24; i++) Assert.Equal(i * (i / 4 % 3 + 1), y[i]);
    }

    [Fact]
    public void Incompatible_shapes_name_the_op_and_shapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Contains("add", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4]", ex.Message);
    }

    public static TheoryData<string, int[], int[]> Pairs()
    {
        var d = new TheoryData<string, int[], int[]>();
        foreach (var dev in TestDevices.Names)
        {
            d.Add(dev, [3, 4], [3, 4]);
            d.Add(dev, [3, 4], [4]);
            d.Add(dev, [2, 3, 4], [3, 1]);
            d.Add(dev, [1, 4], [3, 1]);
            d.Add(dev, [5], [1]);
            d.Add(dev, [2, 1, 3], [2, 4, 1]);
        }
        return d;
    }

    [Theory, MemberData(nameof(Pairs))]
    public void Gradients_of_add_sub_mul_div_with_broadcasting(string device, int[] sa, int[] sb)
    {
        var d = Device.Parse(device);
        var a = Check.Param(d, 1, sa);
        var b = Check.AwayFromZero(d, 2, 0.5f, sb);
        Check.Gradients(x => x[0] + x[1], a, b);
        Check.Gradients(x => x[0] - x[1], a, b);
        Check.Gradients(x => x[0] * x[1], a, b);
        Check.Gradients(x => x[0] / x[1], a, b);
        Check.Gradients(x => x[0] * 3f - 2f, a);
    }

    sealed class FloatEq(float tol) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => MathF.Abs(x - y) <= tol;
        public int GetHashCode(float obj) => 0;
    }
}
