using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>Point-wise activations. Each backward is one fused backend kernel on (saved x or y, gradient).</summary>
public static class Activations
{
    public static Tensor Relu(this Tensor x) => new Pointwise(UnaryOp.Relu, BinaryOp.ReluBackward, saveOutput: false).Forward(x);

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
}
