using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>Point-wise activations. Each backward is one fused backend kernel on (saved x or y, gradient).</summary>
public static class Activations
{
    public static Tensor Relu(this Tensor x) => new Pointwise(UnaryOp.Relu, BinaryOp.ReluBackward, saveOutput: false).Forward(x);

    /// <summary>x &gt; 0 ? x : slope·x (PyTorch's leaky_relu, default negative_slope 0.01).</summary>
    public static Tensor LeakyRelu(this Tensor x, float negativeSlope = 0.01f) => new LeakyReluFn().Forward(x, negativeSlope);

    /// <summary>Exact GELU x·Φ(x) (PyTorch's default, approximate='none').</summary>
    public static Tensor Gelu(this Tensor x) => new Pointwise(UnaryOp.Gelu, BinaryOp.GeluBackward, saveOutput: false).Forward(x);

    /// <summary>tanh(x); the backward uses the output: 1 − y².</summary>
    public static Tensor Tanh(this Tensor x) => new Pointwise(UnaryOp.Tanh, BinaryOp.TanhBackward, saveOutput: true).Forward(x);

    /// <summary>1/(1 + e^−x); the backward uses the output: y·(1 − y).</summary>
    public static Tensor Sigmoid(this Tensor x) => new Pointwise(UnaryOp.Sigmoid, BinaryOp.SigmoidBackward, saveOutput: true).Forward(x);

    /// <summary>y = f(x) whose gradient is one binary kernel on (x or y, g).</summary>
    sealed class Pointwise(UnaryOp forward, BinaryOp backward, bool saveOutput) : Function
    {
        Tensor _saved = null!;

        public Tensor Forward(Tensor x)
        {
            var y = Arithmetic.Raw(forward, x);
            if (NeedsGrad(x)) _saved = saveOutput ? y : x;
            return Record(y, x);
        }

        public override Tensor?[] Backward(Tensor g) => [Arithmetic.Raw(backward, _saved, g)];
    }

    sealed class LeakyReluFn : Function
    {
        Tensor _x = null!;
        float _slope;

        public Tensor Forward(Tensor x, float slope)
        {
            var y = Arithmetic.Raw(UnaryOp.LeakyRelu, x, slope);
            if (NeedsGrad(x)) { _x = x; _slope = slope; }
            return Record(y, x);
        }

        // d/dx = 1 for x > 0, slope otherwise (PyTorch takes the slope at x = 0).
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = Arithmetic.NewLike(g);
            g.Backend.LeakyReluBackward(_x, g, _slope, gx);
            return [gx];
        }
    }
}
