using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Element-wise math (exp, log, abs, sign, sqrt, pow, clamp, square, reciprocal, minimum, maximum),
/// each a backend Map/Zip in the forward and a few Map/Zip passes in the backward; the derivative is
/// written above each backward.
/// </summary>
public static class ElementwiseMath
{
    public static Tensor Exp(this Tensor x) => new ExpFn().Forward(x);
    public static Tensor Log(this Tensor x) => new LogFn().Forward(x);
    public static Tensor Abs(this Tensor x) => new AbsFn().Forward(x);
    /// <summary>−1, 0 or 1; the gradient is zero everywhere (PyTorch's convention).</summary>
    public static Tensor Sign(this Tensor x) => new SignFn().Forward(x);
    public static Tensor Sqrt(this Tensor x) => new SqrtFn().Forward(x);
    public static Tensor Square(this Tensor x) => new SquareFn().Forward(x);
    public static Tensor Reciprocal(this Tensor x) => new ReciprocalFn().Forward(x);

    /// <summary>x^exponent element-wise (negative bases are fine for integer exponents).</summary>
    public static Tensor Pow(this Tensor x, float exponent) => new PowFn().Forward(x, exponent);

    /// <summary>
    /// min(max(x, min), max). The gradient passes where min ≤ x ≤ max (bounds included, as PyTorch's
    /// clamp) and is zero elsewhere. An infinite bound is no bound.
    /// </summary>
    public static Tensor Clamp(this Tensor x, float min = float.NegativeInfinity, float max = float.PositiveInfinity)
    {
        if (float.IsNaN(min) || float.IsNaN(max)) throw new ArgumentException($"clamp: bounds must be numbers, got [{min}, {max}]");
        return new ClampFn().Forward(x, min, max);
    }

    /// <summary>
    /// Element-wise maximum with broadcasting. The gradient goes to the larger operand; on ties it is split
    /// in half between the two (PyTorch's rule for torch.maximum).
    /// </summary>
    public static Tensor Maximum(this Tensor a, Tensor b) => new MinMaxFn(max: true).Forward(a, b);

    /// <summary>Element-wise minimum with broadcasting; gradient to the smaller operand, ties split in half.</summary>
    public static Tensor Minimum(this Tensor a, Tensor b) => new MinMaxFn(max: false).Forward(a, b);

    static Tensor Raw(UnaryOp op, Tensor x, float p = 0, float q = 0) => Arithmetic.Raw(op, x, p, q);
    static Tensor Raw(BinaryOp op, Tensor a, Tensor b) => Arithmetic.Raw(op, a, b);

    /// <summary>y = op(y) in place (element-wise kernels may alias).</summary>
    static Tensor InPlace(UnaryOp op, Tensor y, float p = 0, float q = 0)
    {
        y.Backend.Map(op, y, y, p, q);
        return y;
    }

    /// <summary>b = op(a, b) in place, a and b of the same shape.</summary>
    static Tensor InPlaceRight(BinaryOp op, Tensor a, Tensor b)
    {
        b.Backend.Zip(op, a, b, b);
        return b;
    }

    sealed class ExpFn : Function
    {
        Tensor _y = null!;
        public Tensor Forward(Tensor x)
        {
            var y = Raw(UnaryOp.Exp, x);
            if (NeedsGrad(x)) _y = y;
            return Record(y, x);
        }
        // d eˣ/dx = eˣ = y
        public override Tensor?[] Backward(Tensor g) => [Raw(BinaryOp.Mul, g, _y)];
    }

    sealed class LogFn : Function
    {
        Tensor _x = null!;
        public Tensor Forward(Tensor x)
        {
            if (NeedsGrad(x)) _x = x;
            return Record(Raw(UnaryOp.Log, x), x);
        }
        // d ln x/dx = 1/x
        public override Tensor?[] Backward(Tensor g) => [Raw(BinaryOp.Div, g, _x)];
    }

    sealed class AbsFn : Function
    {
        Tensor _x = null!;
        public Tensor Forward(Tensor x)
        {
            if (NeedsGrad(x)) _x = x;
            return Record(Raw(UnaryOp.Abs, x), x);
        }
        // d|x|/dx = sign(x) (0 at x = 0, as PyTorch)
        public override Tensor?[] Backward(Tensor g) => [InPlaceRight(BinaryOp.Mul, g, Raw(UnaryOp.Sign, _x))];
    }

    sealed class SignFn : Function
    {
        Shape _shape;
        public Tensor Forward(Tensor x)
        {
            _shape = x.Shape;
            return Record(Raw(UnaryOp.Sign, x), x);
        }
        // sign is piecewise constant: zero gradient (a zero tensor, so the input still receives one)
        public override Tensor?[] Backward(Tensor g) => [Tensor.Zeros(_shape, g.Device)];
    }

    sealed class SqrtFn : Function
    {
        Tensor _y = null!;
        public Tensor Forward(Tensor x)
        {
            var y = Raw(UnaryOp.Sqrt, x);
            if (NeedsGrad(x)) _y = y;
            return Record(y, x);
        }
        // d √x/dx = 1/(2√x) = 1/(2y)
        public override Tensor?[] Backward(Tensor g) => [InPlace(UnaryOp.Affine, Raw(BinaryOp.Div, g, _y), 0.5f, 0)];
    }

    sealed class SquareFn : Function
    {
        Tensor _x = null!;
        public Tensor Forward(Tensor x)
        {
            if (NeedsGrad(x)) _x = x;
            return Record(Raw(UnaryOp.Square, x), x);
        }
        // d x²/dx = 2x
        public override Tensor?[] Backward(Tensor g) => [InPlace(UnaryOp.Affine, Raw(BinaryOp.Mul, g, _x), 2, 0)];
    }

    sealed class ReciprocalFn : Function
    {
        Tensor _y = null!;
        public Tensor Forward(Tensor x)
        {
            var y = Raw(UnaryOp.Reciprocal, x);
            if (NeedsGrad(x)) _y = y;
            return Record(y, x);
        }
        // d (1/x)/dx = −1/x² = −y²
        public override Tensor?[] Backward(Tensor g) =>
            [InPlace(UnaryOp.Neg, InPlaceRight(BinaryOp.Mul, g, Raw(UnaryOp.Square, _y)))];
    }

    sealed class PowFn : Function
    {
        Tensor _x = null!;
        float _p;
        public Tensor Forward(Tensor x, float p)
        {
            _p = p;
            if (NeedsGrad(x)) _x = x;
            return Record(Raw(UnaryOp.Pow, x, p), x);
        }
        // d xᵖ/dx = p·xᵖ⁻¹; the cheap exponents skip the pow kernel
        public override Tensor?[] Backward(Tensor g) => [_p switch
        {
            0 => Tensor.Zeros(g.Shape, g.Device),
            1 => g,
            2 => InPlace(UnaryOp.Affine, Raw(BinaryOp.Mul, g, _x), 2, 0),
            _ => InPlace(UnaryOp.Affine, InPlaceRight(BinaryOp.Mul, g, Raw(UnaryOp.Pow, _x, _p - 1)), _p, 0),
        }];
    }

    sealed class ClampFn : Function
    {
        Tensor _x = null!;
        float _min, _max;
        public Tensor Forward(Tensor x, float min, float max)
        {
            _min = min; _max = max;
            if (NeedsGrad(x)) _x = x;
            return Record(Raw(UnaryOp.Clamp, x, min, max), x);
        }

        // d clamp/dx = 1 where min ≤ x ≤ max, else 0. The bounds are inclusive while ReluBackward tests
        // t > 0 strictly, so compare against the next float outward: x ≤ max ⇔ next_up(max) − x > 0 and
        // x ≥ min ⇔ x − next_down(min) > 0, both exact in float32 (the difference of distinct floats never
        // rounds to zero, and a·x + b with a = ±1 rounds once).
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = g;
            Tensor? t = null;
            if (!float.IsPositiveInfinity(_max))
            {
                t = Raw(UnaryOp.Affine, _x, -1, MathF.BitIncrement(_max));
                gx = Raw(BinaryOp.ReluBackward, t, gx);
            }
            if (!float.IsNegativeInfinity(_min))
            {
                if (t == null) t = Raw(UnaryOp.Affine, _x, 1, -MathF.BitDecrement(_min));
                else _x.Backend.Map(UnaryOp.Affine, _x, t, 1, -MathF.BitDecrement(_min));
                gx = ReferenceEquals(gx, g) ? Raw(BinaryOp.ReluBackward, t, gx) : InPlaceRight(BinaryOp.ReluBackward, t, gx);
            }
            return [gx];
        }
    }

    sealed class MinMaxFn(bool max) : Function
    {
        Tensor _a = null!, _b = null!;
        public Tensor Forward(Tensor a, Tensor b)
        {
            var y = Raw(max ? BinaryOp.Max : BinaryOp.Min, a, b);
            if (NeedsGrad(a, b)) { _a = a; _b = b; }
            return Record(y, a, b);
        }

        // With s = sign(a − b): for maximum, ∂/∂a = (1 + s)/2 and ∂/∂b = (1 − s)/2, which is 1 to the
        // larger operand, 0 to the other and ½ each on ties; minimum swaps the two. Broadcast operands
        // sum their share back to their shape.
        public override Tensor?[] Backward(Tensor g)
        {
            var s = InPlace(UnaryOp.Sign, Raw(BinaryOp.Sub, _a, _b));
            if (s.Shape != g.Shape) s = Reductions.Expand(s, g.Shape);
            float toA = max ? 0.5f : -0.5f;
            Tensor? ga = null, gb = null;
            if (_a.RequiresGrad)
                ga = InPlaceRight(BinaryOp.Mul, g, _b.RequiresGrad ? Raw(UnaryOp.Affine, s, toA, 0.5f) : InPlace(UnaryOp.Affine, s, toA, 0.5f)).SumTo(_a.Shape);
            if (_b.RequiresGrad)
                gb = InPlaceRight(BinaryOp.Mul, g, InPlace(UnaryOp.Affine, s, -toA, 0.5f)).SumTo(_b.Shape);
            return [ga, gb];
        }
    }
}
