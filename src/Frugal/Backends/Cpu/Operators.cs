using System.Numerics;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Element-wise kernels as operator structs (the shape of System.Numerics.Tensors' TensorPrimitives):
/// a scalar <c>Invoke</c> that is the reference, and a <see cref="Vector{T}"/> overload the driver uses
/// on full vectors. Tests compare the two on odd lengths. The JIT specialises the generic drivers in
/// <see cref="Simd"/> per struct, so there is no call per element.
/// </summary>
public interface IUnaryOperator
{
    static abstract float Invoke(float x, float a, float b);
    static abstract Vector<float> Invoke(Vector<float> x, Vector<float> a, Vector<float> b);
}

public interface IBinaryOperator
{
    static abstract float Invoke(float x, float y);
    static abstract Vector<float> Invoke(Vector<float> x, Vector<float> y);
}

public readonly struct SignOperator : IUnaryOperator
{
    public static float Invoke(float x, float a, float b) => x > 0 ? 1 : x < 0 ? -1 : 0;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> a, Vector<float> b) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero)
        - Vector.ConditionalSelect(Vector.LessThan(x, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);
}

/// <summary>0 &gt; x ? 0 : x: ReLU that keeps NaN (as PyTorch's does) in one compare and one and-not per vector, about
/// 3× faster than TensorPrimitives.Max(x, 0), whose IEEE maximum also orders −0 below +0 (here −0 stays −0).</summary>
public readonly struct ReluOperator : IUnaryOperator
{
    public static float Invoke(float x, float a, float b) => 0 > x ? 0 : x;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> a, Vector<float> b) =>
        Vector.AndNot(x, Vector.GreaterThan(Vector<float>.Zero, x).As<int, float>());
}

/// <summary>x &gt; 0 ? x : a·x</summary>
public readonly struct LeakyReluOperator : IUnaryOperator
{
    public static float Invoke(float x, float a, float b) => x > 0 ? x : a * x;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> a, Vector<float> b) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, a * x);
}

/// <summary>x &gt; a ? 1 : 0</summary>
public readonly struct GreaterThanOperator : IUnaryOperator
{
    public static float Invoke(float x, float a, float b) => x > a ? 1 : 0;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> a, Vector<float> b) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, a), Vector<float>.One, Vector<float>.Zero);
}

/// <summary>min(max(x, a), b)</summary>
public readonly struct ClampOperator : IUnaryOperator
{
    public static float Invoke(float x, float a, float b) => MathF.Min(MathF.Max(x, a), b);
    public static Vector<float> Invoke(Vector<float> x, Vector<float> a, Vector<float> b) => Vector.Min(Vector.Max(x, a), b);
}

/// <summary>a·x + b</summary>
public readonly struct AffineOperator : IUnaryOperator
{
    public static float Invoke(float x, float a, float b) => a * x + b;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> a, Vector<float> b) => a * x + b;
}

public readonly struct AddOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x + y;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => x + y;
}

public readonly struct SubOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x - y;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => x - y;
}

public readonly struct MulOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x * y;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => x * y;
}

public readonly struct DivOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => x / y;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => x / y;
}

public readonly struct MaxOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => MathF.Max(x, y);
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => Vector.Max(x, y);
}

public readonly struct MinOperator : IBinaryOperator
{
    public static float Invoke(float x, float y) => MathF.Min(x, y);
    public static Vector<float> Invoke(Vector<float> x, Vector<float> y) => Vector.Min(x, y);
}

/// <summary>(x, g) → x &gt; 0 ? g : 0</summary>
public readonly struct ReluBackwardOperator : IBinaryOperator
{
    public static float Invoke(float x, float g) => x > 0 ? g : 0;
    public static Vector<float> Invoke(Vector<float> x, Vector<float> g) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), g, Vector<float>.Zero);
}

/// <summary>(y, g) → g·(1 − y²)</summary>
public readonly struct TanhBackwardOperator : IBinaryOperator
{
    public static float Invoke(float y, float g) => g * (1 - y * y);
    public static Vector<float> Invoke(Vector<float> y, Vector<float> g) => g * (Vector<float>.One - y * y);
}

/// <summary>(y, g) → g·y·(1 − y)</summary>
public readonly struct SigmoidBackwardOperator : IBinaryOperator
{
    public static float Invoke(float y, float g) => g * y * (1 - y);
    public static Vector<float> Invoke(Vector<float> y, Vector<float> g) => g * y * (Vector<float>.One - y);
}

/// <summary>Exact GELU x·Φ(x) and its derivative Φ(x) + x·φ(x); scalar only (not on a hot path here).</summary>
public static class GeluMath
{
    const float InvSqrt2 = 0.70710678118654752f, InvSqrt2Pi = 0.39894228040143268f;

    public static float Gelu(float x) => 0.5f * x * (1 + Erf(x * InvSqrt2));
    public static float Derivative(float x) => 0.5f * (1 + Erf(x * InvSqrt2)) + x * InvSqrt2Pi * MathF.Exp(-0.5f * x * x);

    /// <summary>erf in double precision (MathNet.Numerics), rounded to float.</summary>
    public static float Erf(float x) => (float)MathNet.Numerics.SpecialFunctions.Erf(x);
}
