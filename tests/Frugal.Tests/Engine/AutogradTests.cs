using Frugal.Autograd;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class AutogradTests
{
    [Fact]
    public void Gradient_accumulates_over_two_uses_and_two_backward_calls()
    {
        var x = Tensor.FromArray([2f], 1);
        x.RequiresGrad = true;
        (x * x + x).Sum().Backward();      // d/dx (x² + x) = 2x + 1 = 5
        Assert.Equal(5f, x.Grad!.Item());
        (x * 3f).Sum().Backward();          // accumulates 3
        Assert.Equal(8f, x.Grad!.Item());
    }

    [Fact]
    public void No_grad_scope_records_nothing()
    {
        var x = Tensor.Ones(3);
        x.RequiresGrad = true;
        Tensor y;
        using (GradMode.NoGrad()) y = x * 2f;
        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        Assert.True((x * 2f).RequiresGrad);
    }

    [Fact]
    public void Hook_on_intermediate_replaces_the_gradient_that_flows_on()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 3);
        x.RequiresGrad = true;
        var h = x * 2f;
        Tensor? seen = null;
        h.RegisterHook(g => { seen = g; return g * 0f + Tensor.FromArray([1f, 0f, 1f], 3); });
        (h * h).Sum().Backward();
        Assert.Equal([4f, 8f, 12f], seen!.ToArray());          // dL/dh = 2h
        Assert.Equal([2f, 0f, 2f], x.Grad!.ToArray());         // replaced gradient times dh/dx = 2
    }

    [Fact]
    public void Hook_on_parameter_sees_weight_gradient_before_accumulation()
    {
        var w = Tensor.FromArray([1f, 1f], 2);
        w.RequiresGrad = true;
        w.RegisterHook(g => g * 10f);
        (w * 3f).Sum().Backward();
        Assert.Equal([30f, 30f], w.Grad!.ToArray());
    }

    sealed class Cube : Function
    {
        Tensor _x = null!;
        public Tensor Forward(Tensor x)
        {
            _x = x;
            Tensor y;
            using (GradMode.NoGrad()) y = x * x * x;
            return Record(y, x);
        }
        public override Tensor?[] Backward(Tensor g) => [g * _x * _x * 3f];
    }

    [Fact]
    public void Custom_function_defines_its_own_backward()
    {
        var x = Check.Param(Device.Cpu, 3, 4);
        Check.Gradients(t => new Cube().Forward(t[0]), x);
    }

    sealed class WrongBackward : Function
    {
        public Tensor Forward(Tensor x)
        {
            Tensor y;
            using (GradMode.NoGrad()) y = x * 2f;
            return Record(y, x);
        }
        public override Tensor?[] Backward(Tensor g) => [g * 2.02f];   // 1% off
    }

    [Fact]
    public void Gradcheck_catches_a_backward_off_by_one_percent()
    {
        var r = GradCheck.Check(t => new WrongBackward().Forward(t[0]), [Check.Param(Device.Cpu, 1, 5)]);
        Assert.False(r.Ok);
    }

    [Fact]
    public void Backward_on_non_scalar_without_gradient_is_an_error()
    {
        var x = Check.Param(Device.Cpu, 1, 3);
        var ex = Assert.Throws<ArgumentException>(() => (x * 2f).Backward());
        Assert.Contains("[3]", ex.Message);
    }

    [Fact]
    public void Views_share_storage()
    {
        var x = Tensor.Arange(6);
        var v = x.Reshape(2, 3).Narrow0(1, 1);
        Assert.Equal([3f, 4f, 5f], v.ToArray());
        Assert.Same(x.Storage, v.Storage);
        Check.Gradients(t => t[0].Reshape(3, 4).Narrow0(1, 2), Check.Param(Device.Cpu, 1, 12));
    }

    [Fact]
    public void Same_seed_gives_same_numbers()
    {
        Assert.Equal(Tensor.Randn(new Shape(100), new Generator(42)).ToArray(), Tensor.Randn(new Shape(100), new Generator(42)).ToArray());
        Assert.NotEqual(Tensor.Randn(new Shape(100), new Generator(42)).ToArray(), Tensor.Randn(new Shape(100), new Generator(43)).ToArray());
    }
}
