using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Tests.Optim;

/// <summary>Fixed starting points and gradient sequences for the trajectory tests, and helpers to drive an optimizer with them.</summary>
static class OptimTestData
{
    /// <summary>19 values: more than one Vector&lt;float&gt; (8 or 16 lanes) plus a tail, so both kernel paths run.</summary>
    public static readonly double[] Theta0 = Enumerable.Range(0, 19).Select(i => 2 * Math.Sin(i + 1) + (i == 3 ? -2 : 0)).ToArray();

    /// <summary>The gradient at step t (1-based): varied in sign and size per coordinate, some shrinking so amsgrad's max matters.</summary>
    public static double[] Grad(int t) => Enumerable.Range(0, 19).Select(i =>
    {
        double s = 1 + i / 10.0;
        return s * (i % 5) switch
        {
            0 => 0.5 / t,
            1 => -1.5 + 0.2 * t,
            2 => (t % 2 == 0 ? 1 : -1) * 0.3,
            3 => 2.0 / (t * t),
            _ => 0.01 * t,
        };
    }).ToArray();

    public static Tensor Param(Device d, double[]? values = null)
    {
        var t = Tensor.FromArray((values ?? Theta0).Select(v => (float)v).ToArray(), new Shape((values ?? Theta0).Length), d);
        t.RequiresGrad = true;
        return t;
    }

    public static void SetGrad(Tensor p, double[] g) =>
        p.Grad = Tensor.FromArray(g.Select(v => (float)v).ToArray(), p.Shape, p.Device);

    /// <summary>Runs <paramref name="steps"/> steps with the fixed gradients and returns θ after each.</summary>
    public static List<float[]> Run(Optimizer opt, Tensor p, int steps, int firstStep = 1)
    {
        var res = new List<float[]>();
        for (int t = firstStep; t < firstStep + steps; t++)
        {
            SetGrad(p, Grad(t));
            opt.Step();
            res.Add(p.ToArray());
        }
        return res;
    }

    public static void Close(double[] expected, float[] actual, string what, double rtol = 2e-5, double atol = 2e-6)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= atol + rtol * Math.Abs(expected[i]),
                $"{what}[{i}]: {actual[i]}, expected {expected[i]}");
    }

    /// <summary>A deep copy of a state dict, as a checkpoint on disk would hold it.</summary>
    public static Dictionary<string, Tensor> Clone(IReadOnlyDictionary<string, Tensor> state) =>
        state.ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.ToArray(), kv.Value.Shape));
}
