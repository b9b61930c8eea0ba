using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Tests;

/// <summary>Assertions shared by the test suite.</summary>
public static class Check
{
    public static void Close(float[] expected, float[] actual, float atol = 1e-5f, float rtol = 1e-4f, string what = "")
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (float.IsNaN(e) && float.IsNaN(a)) continue;
            Assert.True(MathF.Abs(e - a) <= atol + rtol * MathF.Abs(e), $"{what}[{i}]: {a}, expected {e}");
        }
    }

    public static void Close(Tensor expected, Tensor actual, float atol = 1e-5f, float rtol = 1e-4f)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Close(expected.ToArray(), actual.ToArray(), atol, rtol);
    }

    /// <summary>Finite-difference gradient check of f at inputs; fails with the worst element.</summary>
    public static void Gradients(Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        var r = GradCheck.Check(f, inputs);
        Assert.True(r.Ok, $"gradcheck failed (max relative error {r.MaxRelativeError:G3}):\n{r.Report}");
    }

    /// <summary>A random tensor with gradients on, on the device.</summary>
    public static Tensor Param(Device d, ulong seed, params int[] shape)
    {
        var t = Tensor.Randn(new Shape(shape), new Generator(seed), d);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Random values kept away from 0 by at least <paramref name="gap"/> (for kinks like relu, abs).</summary>
    public static Tensor AwayFromZero(Device d, ulong seed, float gap, params int[] shape)
    {
        var g = new Generator(seed);
        var v = new float[new Shape(shape).Numel];
        for (int i = 0; i < v.Length; i++)
        {
            float x = (float)(g.NextDouble() * 2 - 1);
            v[i] = MathF.Sign(x == 0 ? 1 : x) * (gap + MathF.Abs(x));
        }
        var t = Tensor.FromArray(v, new Shape(shape), d);
        t.RequiresGrad = true;
        return t;
    }
}
