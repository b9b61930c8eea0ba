using Frugal.Autograd;
using Frugal.Methods.LocalLearning;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.LocalLearning;

/// <summary>Linear over-parameterisation W = B·A (METHODS.md §4.3): exact start, exact collapse, gradients.</summary>
public class LayerwiseOverparameterizedTests
{
    [Theory]
    [InlineData(5, 3, 1.0)]    // r = 3 < d_in: B has orthonormal rows
    [InlineData(3, 5, 1.0)]    // r = 3 = d_in: A has orthonormal columns
    [InlineData(6, 4, 2.5)]    // r = 10 ≥ d_in
    public void Factors_multiply_to_the_weight(int dIn, int dOut, double factor)
    {
        var w = new float[dOut * dIn];
        new Generator(1).FillNormal(w);
        int r = Overparameterized.InnerWidth(dIn, dOut, factor);
        Assert.Equal((int)Math.Ceiling(factor * Math.Min(dIn, dOut)), r);
        var (b, a) = Overparameterized.Factorize(w, dOut, dIn, r, new Generator(2));
        var product = Tensor.FromArray(b, dOut, r).Matmul(Tensor.FromArray(a, r, dIn)).ToArray();
        Check.Close(w, product, atol: 1e-5f);
        Assert.Throws<ArgumentException>(() => Overparameterized.Factorize(w, dOut, dIn, Math.Min(dIn, dOut) - 1, new Generator(2)));
    }

    [Fact]
    public void A_factored_linear_starts_as_the_layer_and_collapses_exactly()
    {
        var layer = new Linear(12, 5, generator: new Generator(3));
        var x = Tensor.Randn(new Shape(4, 12), new Generator(4));
        var before = layer.Call(x).ToArray();
        var f = new OverparameterizedLinear(layer, 2, new Generator(5));
        Assert.Equal(10, f.InnerWidth);
        Check.Close(before, f.Call(x).ToArray(), atol: 1e-5f);
        Train(f, x);
        var factored = f.Call(x).ToArray();
        Assert.NotEqual(before, factored);
        Assert.Same(layer, f.Collapse());
        Check.Close(factored, layer.Call(x).ToArray(), atol: 1e-5f);
    }

    [Fact]
    public void A_factored_conv_starts_as_the_layer_and_collapses_exactly()
    {
        var layer = new Conv2d(3, 4, 3, stride: 2, padding: 1, generator: new Generator(3));
        var x = Tensor.Randn(new Shape(2, 3, 7, 7), new Generator(4));
        var before = layer.Call(x).ToArray();
        var f = new OverparameterizedConv2d(layer, 1.5, new Generator(5));
        Assert.Equal(6, f.InnerWidth);   // 1.5 · min(3·3·3, 4)
        Check.Close(before, f.Call(x).ToArray(), atol: 1e-5f);
        Train(f, x);
        var factored = f.Call(x).ToArray();
        Assert.NotEqual(before, factored);
        f.Collapse();
        Check.Close(factored, layer.Call(x).ToArray(), atol: 1e-5f);
    }

    [Fact]
    public void Gradients_of_the_factors_match_finite_differences()
    {
        var conv = new OverparameterizedConv2d(new Conv2d(2, 3, 3, padding: 1, generator: new Generator(3)), 1, new Generator(5));
        var x = Tensor.Randn(new Shape(2, 2, 5, 5), new Generator(4));
        Check.Gradients(_ => conv.Call(x), conv.A, conv.B, conv.Bias!);
        var linear = new OverparameterizedLinear(new Linear(4, 3, generator: new Generator(3)), 2, new Generator(5));
        var y = Tensor.Randn(new Shape(5, 4), new Generator(6));
        Check.Gradients(_ => linear.Call(y), linear.A, linear.B, linear.Bias!);
    }

    [Fact]
    public void Apply_swaps_the_stage_layers_and_collapse_puts_them_back()
    {
        var conv = new Conv2d(1, 4, 3, padding: 1, bias: false, generator: new Generator(1));
        var stage = new Sequential(conv, new BatchNorm2d(4), new ReLU());
        var swapped = Overparameterized.Apply(stage, 1, new Generator(2));
        Assert.IsType<OverparameterizedConv2d>(stage[0]);
        Assert.Equal(["0.a", "0.b"], stage.NamedParameters().Select(p => p.Name).Take(2));
        Overparameterized.Collapse(stage, swapped);
        Assert.Same(conv, stage[0]);
    }

    /// <summary>A few SGD steps on a random objective, so the factors move away from their start.</summary>
    static void Train(Module m, Tensor x)
    {
        var opt = new Frugal.Optim.Sgd(m.Parameters(), 0.1);
        var proj = Tensor.Randn(m.Call(x).Shape, new Generator(9));
        for (int i = 0; i < 3; i++)
        {
            opt.ZeroGrad();
            m.Call(x).Mul(proj).Sum().Backward();
            opt.Step();
        }
    }
}
