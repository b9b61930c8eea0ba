using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class ElementwiseMathTests
{
    static Tensor Positive(Device d, ulong seed, params int[] shape)
    {
        var t = Tensor.Uniform(new Shape(shape), 0.5f, 2f, new Generator(seed), d);
        t.RequiresGrad = true;
        return t;
    }

    static float[] Map(Tensor x, Func<double, double> f) => x.ToArray().Select(v => (float)f(v)).ToArray();

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Forward_matches_math_functions(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Randn(new Shape(3, 11), new Generator(1), d);   // 33: full vectors plus a tail
        var p = Tensor.Uniform(new Shape(3, 11), 0.1f, 3f, new Generator(2), d);
        Check.Close(Map(x, Math.Exp), x.Exp().ToArray(), what: "exp");
        Check.Close(Map(p, Math.Log), p.Log().ToArray(), what: "log");
        Check.Close(Map(x, Math.Abs), x.Abs().ToArray(), what: "abs");
        Check.Close(Map(p, Math.Sqrt), p.Sqrt().ToArray(), what: "sqrt");
        Check.Close(Map(x, v => v * v), x.Square().ToArray(), what: "square");
        Check.Close(Map(p, v => 1 / v), p.Reciprocal().ToArray(), what: "reciprocal");
        Check.Close(Map(p, v => Math.Pow(v, 1.7)), p.Pow(1.7f).ToArray(), what: "pow 1.7");
        Check.Close(Map(x, v => v * v * v), x.Pow(3).ToArray(), what: "pow 3 of negatives");
        Check.Close(Map(x, v => Math.Clamp(v, -0.5, 0.7)), x.Clamp(-0.5f, 0.7f).ToArray(), what: "clamp");
        Check.Close(Map(x, v => Math.Max(v, -0.5)), x.Clamp(min: -0.5f).ToArray(), what: "clamp min only");
        Assert.Equal([-1f, 0f, 1f, 1f], Tensor.FromArray([-3f, 0f, 2f, 1e-30f], new Shape(4), d).Sign().ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Minimum_and_maximum_broadcast(string device)
    {
        var d = Device.Parse(device);
        var a = Tensor.FromArray([1, 5, 3, 4, 2, 6], new Shape(2, 3), d);
        var b = Tensor.FromArray([2, 2, 5], new Shape(3), d);
        Assert.Equal([2, 5, 5, 4, 2, 6], a.Maximum(b).ToArray());
        Assert.Equal([1, 2, 3, 2, 2, 5], a.Minimum(b).ToArray());
        Assert.Equal(new Shape(2, 3), b.Maximum(a).Shape);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gradients_of_unary_ops(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 3, 2, 5);
        var pos = Positive(d, 4, 2, 5);
        var kink = Check.AwayFromZero(d, 5, 0.1f, 2, 5);
        Check.Gradients(t => t[0].Exp(), x);
        Check.Gradients(t => t[0].Square(), x);
        Check.Gradients(t => t[0].Log(), pos);
        Check.Gradients(t => t[0].Sqrt(), pos);
        Check.Gradients(t => t[0].Reciprocal(), pos);
        Check.Gradients(t => t[0].Pow(1.5f), pos);
        Check.Gradients(t => t[0].Pow(-0.5f), pos);
        Check.Gradients(t => t[0].Pow(2f), x);
        Check.Gradients(t => t[0].Pow(3f), x);
        Check.Gradients(t => t[0].Pow(1f), x);
        Check.Gradients(t => t[0].Pow(0f), x);
        Check.Gradients(t => t[0].Abs(), kink);
        Check.Gradients(t => t[0].Sign(), kink);
        Check.Gradients(t => t[0].Exp().Log(), x);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gradient_of_clamp_with_bounds_away_from_the_data(string device)
    {
        var d = Device.Parse(device);
        // Values in ±[0.1, 1.1]; bounds at ±0.55 + a gap no finite-difference step of 1e-2 crosses.
        var v = Check.AwayFromZero(d, 6, 0.1f, 24).ToArray()
            .Select(t => MathF.Abs(MathF.Abs(t) - 0.55f) < 0.05f ? t + 0.1f * MathF.Sign(t) : t).ToArray();
        var x = Tensor.FromArray(v, new Shape(4, 6), d);
        x.RequiresGrad = true;
        Check.Gradients(t => t[0].Clamp(-0.55f, 0.55f), x);
        Check.Gradients(t => t[0].Clamp(min: -0.55f), x);
        Check.Gradients(t => t[0].Clamp(max: 0.55f), x);
        Check.Gradients(t => t[0].Clamp(), x);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Clamp_gradient_includes_the_bounds_like_pytorch(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.FromArray([-2f, -1f, 0f, 1f, 2f, float.BitDecrement(-1f), float.BitIncrement(1f)], new Shape(7), d);
        x.RequiresGrad = true;
        x.Clamp(-1f, 1f).Sum().Backward();
        Assert.Equal([0f, 1f, 1f, 1f, 0f, 0f, 0f], x.Grad!.ToArray());
        // min > max: PyTorch returns max everywhere and no gradient.
        var z = Tensor.FromArray([0f, 5f], new Shape(2), d);
        z.RequiresGrad = true;
        var y = z.Clamp(3f, 1f);
        Assert.Equal([1f, 1f], y.ToArray());
        y.Sum().Backward();
        Assert.Equal([0f, 0f], z.Grad!.ToArray());
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gradients_of_minimum_maximum_with_broadcasting(string device)
    {
        var d = Device.Parse(device);
        foreach (var (sa, sb) in new[] { (new[] { 3, 4 }, new[] { 3, 4 }), (new[] { 2, 3 }, new[] { 3 }), (new[] { 2, 1, 3 }, new[] { 4, 1 }) })
        {
            // Two draws from different seeds; pairs at least 0.05 apart, so a finite-difference step of 1e-2 never flips the order.
            var a = Check.Param(d, 7, sa);
            var b = Check.Param(d, 8, sb);
            AssertFarApart(a, b);
            Check.Gradients(t => t[0].Maximum(t[1]), a, b);
            Check.Gradients(t => t[0].Minimum(t[1]), a, b);
        }
    }

    static void AssertFarApart(Tensor a, Tensor b)
    {
        using var _ = Autograd.GradMode.NoGrad();
        var diff = a.Sub(b).Abs().ToArray();
        Assert.True(diff.Min() >= 0.05f, $"test data: operands {a.Shape}, {b.Shape} come {diff.Min()} close; pick other seeds");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Ties_split_the_gradient_in_half(string device)
    {
        var d = Device.Parse(device);
        var a = Tensor.FromArray([1f, 2f, 3f], new Shape(3), d); a.RequiresGrad = true;
        var b = Tensor.FromArray([2f, 2f, 1f], new Shape(3), d); b.RequiresGrad = true;
        a.Maximum(b).Sum().Backward();
        Assert.Equal([0f, 0.5f, 1f], a.Grad!.ToArray());
        Assert.Equal([1f, 0.5f, 0f], b.Grad!.ToArray());
        a.Grad = null; b.Grad = null;
        a.Minimum(b).Sum().Backward();
        Assert.Equal([1f, 0.5f, 0f], a.Grad!.ToArray());
        Assert.Equal([0f, 0.5f, 1f], b.Grad!.ToArray());
    }

    [Fact]
    public void Bad_inputs_name_the_op()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Maximum(Tensor.Zeros(4)));
        Assert.Contains("max", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4]", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2).Clamp(float.NaN, 1));
        Assert.Contains("clamp", ex2.Message);
    }
}
