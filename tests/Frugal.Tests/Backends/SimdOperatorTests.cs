using System.Numerics;
using Frugal.Backends.Cpu;

namespace Frugal.Tests.Backends;

/// <summary>Every vectorised kernel against its own scalar reference, on lengths that exercise the tail.</summary>
public class SimdOperatorTests
{
    static readonly int[] Lengths = [0, 1, 7, 33, 1000];

    static float[] Data(int n, int seed)
    {
        var g = new Frugal.Tensors.Generator((ulong)seed);
        var v = new float[n];
        g.FillNormal(v, 0, 3);
        if (n > 3) { v[0] = 0; v[1] = -0f; }
        return v;
    }

    static void Unary<TOp>(float a, float b) where TOp : IUnaryOperator
    {
        foreach (var n in Lengths)
        {
            var x = Data(n, n);
            var y = new float[n];
            Simd.Map<TOp>(x, y, a, b);
            for (int i = 0; i < n; i++) Assert.Equal(TOp.Invoke(x[i], a, b), y[i]);
        }
    }

    static void Binary<TOp>() where TOp : IBinaryOperator
    {
        foreach (var n in Lengths)
        {
            var x = Data(n, n); var z = Data(n, n + 100);
            var y = new float[n];
            Simd.Zip<TOp>(x, z, y);
            for (int i = 0; i < n; i++) Assert.Equal(TOp.Invoke(x[i], z[i]), y[i], 6);
            Simd.ZipScalarRight<TOp>(x, 1.5f, y);
            for (int i = 0; i < n; i++) Assert.Equal(TOp.Invoke(x[i], 1.5f), y[i], 6);
            Simd.ZipScalarLeft<TOp>(-0.5f, z, y);
            for (int i = 0; i < n; i++) Assert.Equal(TOp.Invoke(-0.5f, z[i]), y[i], 6);
        }
    }

    [Fact] public void Sign() => Unary<SignOperator>(0, 0);
    [Fact] public void Relu() => Unary<ReluOperator>(0, 0);
    [Fact] public void LeakyRelu() => Unary<LeakyReluOperator>(0.01f, 0);
    [Fact] public void GreaterThan() => Unary<GreaterThanOperator>(0.3f, 0);
    [Fact] public void Clamp() => Unary<ClampOperator>(-1, 2);
    [Fact] public void Affine() => Unary<AffineOperator>(2.5f, -1);
    [Fact] public void Add() => Binary<AddOperator>();
    [Fact] public void Sub() => Binary<SubOperator>();
    [Fact] public void Mul() => Binary<MulOperator>();
    [Fact] public void Div() => Binary<DivOperator>();
    [Fact] public void Max() => Binary<MaxOperator>();
    [Fact] public void Min() => Binary<MinOperator>();
    [Fact] public void ReluBackward() => Binary<ReluBackwardOperator>();
    [Fact] public void TanhBackward() => Binary<TanhBackwardOperator>();
    [Fact] public void SigmoidBackward() => Binary<SigmoidBackwardOperator>();
    [Fact] public void GeluBackward() => Binary<GeluBackwardOperator>();

    [Fact]
    public void Mismatched_lengths_throw()
    {
        Assert.Throws<ArgumentException>(() => Simd.Map<SignOperator>(new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => Simd.Zip<AddOperator>(new float[3], new float[4], new float[3]));
        Assert.Throws<ArgumentException>(() => Simd.ZipScalarRight<AddOperator>(new float[3], 1, new float[4]));
        Assert.Throws<ArgumentException>(() => Simd.ZipScalarLeft<AddOperator>(1, new float[5], new float[4]));
    }

    [Fact]
    public void Relu_keeps_nan_and_clears_negatives_in_every_lane()
    {
        // Special values at every position of a vector and in the scalar tail.
        float[] specials = [float.NaN, -1e-30f, -0f, 0f, 1e-30f, float.NegativeInfinity, float.PositiveInfinity, -3f, 2f];
        int n = 4 * Vector<float>.Count + 3;
        var x = Enumerable.Range(0, n).Select(i => specials[i % specials.Length]).ToArray();
        var y = new float[n];
        Simd.Map<ReluOperator>(x, y);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(ReluOperator.Invoke(x[i], 0, 0)), BitConverter.SingleToInt32Bits(y[i]));
            if (float.IsNaN(x[i])) Assert.True(float.IsNaN(y[i]));
            else Assert.Equal(x[i] > 0 ? x[i] : 0, y[i]);
        }
    }

    [Fact]
    public void Vector_width_is_at_least_four() => Assert.True(Vector<float>.Count >= 4);
}
