using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>Broadcasting add, sub, mul, div. The gradient of a broadcast operand is summed back to its shape.</summary>
public static class Arithmetic
{
    public static Tensor Add(this Tensor a, Tensor b) => new Binary(BinaryOp.Add).Forward(a, b);
    public static Tensor Sub(this Tensor a, Tensor b) => new Binary(BinaryOp.Sub).Forward(a, b);
    public static Tensor Mul(this Tensor a, Tensor b) => new Binary(BinaryOp.Mul).Forward(a, b);
    public static Tensor Div(this Tensor a, Tensor b) => new Binary(BinaryOp.Div).Forward(a, b);

    /// <summary>a·x + b element-wise for scalars a, b.</summary>
    public static Tensor Affine(this Tensor x, float scale, float shift) => new AffineFn().Forward(x, scale, shift);
    public static Tensor Add(this Tensor x, float s) => x.Affine(1, s);
    public static Tensor Mul(this Tensor x, float s) => x.Affine(s, 0);
    public static Tensor Neg(this Tensor x) => x.Affine(-1, 0);

    /// <summary>A fresh output for an op, on the input's device.</summary>
    internal static Tensor NewLike(Tensor like, Shape? shape = null) => Tensor.Uninitialized(shape ?? like.Shape, like.Device);

    internal static void SameDevice(string op, Tensor a, Tensor b)
    {
        if (a.Device != b.Device) throw new ArgumentException($"{op}: operands are on {a.Device} and {b.Device}; move one with To()");
    }

    /// <summary>y = op(a, b) without autograd (kernel call with shape check and allocation).</summary>
    internal static Tensor Raw(BinaryOp op, Tensor a, Tensor b)
    {
        SameDevice(op.ToString().ToLowerInvariant(), a, b);
        var y = NewLike(a, Shape.Broadcast(a.Shape, b.Shape, op.ToString().ToLowerInvariant()));
        a.Backend.Zip(op, a, b, y);
        return y;
    }

    internal static Tensor Raw(UnaryOp op, Tensor x, float p = 0, float q = 0)
    {
        var y = NewLike(x);
        x.Backend.Map(op, x, y, p, q);
        return y;
    }

    sealed class Binary(BinaryOp op) : Function
    {
        Tensor _a = null!, _b = null!;

        public Tensor Forward(Tensor a, Tensor b)
        {
            var y = Raw(op, a, b);
            if (NeedsGrad(a, b)) { _a = a; _b = b; }
            return Record(y, a, b);
        }

        public override Tensor?[] Backward(Tensor g)
        {
            Tensor? ga = null, gb = null;
            bool needA = _a.RequiresGrad, needB = _b.RequiresGrad;
            switch (op)
            {
                case BinaryOp.Add:
                    if (needA) ga = g.SumTo(_a.Shape);
                    if (needB) gb = g.SumTo(_b.Shape);
                    break;
                case BinaryOp.Sub:
                    if (needA) ga = g.SumTo(_a.Shape);
                    if (needB) gb = Raw(UnaryOp.Neg, g.SumTo(_b.Shape));
                    break;
                case BinaryOp.Mul:
                    if (needA) ga = Raw(BinaryOp.Mul, g, _b).SumTo(_a.Shape);
                    if (needB) gb = Raw(BinaryOp.Mul, g, _a).SumTo(_b.Shape);
                    break;
                case BinaryOp.Div:
                    // d(a/b)/da = 1/b,  d(a/b)/db = −a/b²
                    if (needA) ga = Raw(BinaryOp.Div, g, _b).SumTo(_a.Shape);
                    if (needB) gb = Raw(UnaryOp.Neg, Raw(BinaryOp.Div, Raw(BinaryOp.Mul, g, _a), Raw(UnaryOp.Square, _b))).SumTo(_b.Shape);
                    break;
            }
            return [ga, gb];
        }
    }

    sealed class AffineFn : Function
    {
        float _scale;
        public Tensor Forward(Tensor x, float scale, float shift)
        {
            _scale = scale;
            return Record(Raw(UnaryOp.Affine, x, scale, shift), x);
        }
        public override Tensor?[] Backward(Tensor g) => [_scale == 1 ? g : Raw(UnaryOp.Affine, g, _scale, 0)];
    }
}
