using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Tests.Optim;

/// <summary>End to end: a Linear-ReLU-Linear network trained full-batch with a mean squared error on one-hot
/// targets learns XOR and a two-arm spiral with SGD (momentum), Adam and AdamW.</summary>
public class ConvergenceTests
{
    /// <summary>Points and labels: two arms of one full turn each, offset by π, radius growing with the angle
    /// (not linearly separable; a 64-unit hidden layer separates it in ~200 full-batch steps).</summary>
    static (float[] X, int[] Y) Spiral(int perClass, ulong seed)
    {
        var g = new Generator(seed);
        var x = new float[2 * perClass * 2]; var y = new int[2 * perClass];
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < perClass; i++)
            {
                int k = c * perClass + i;
                double r = 0.1 + 0.9 * i / perClass;
                double th = 2 * Math.PI * i / perClass + c * Math.PI + 0.1 * (g.NextDouble() - 0.5);
                x[2 * k] = (float)(r * Math.Cos(th)); x[2 * k + 1] = (float)(r * Math.Sin(th));
                y[k] = c;
            }
        return (x, y);
    }

    static double Train(float[] xs, int[] ys, int hidden, Func<IEnumerable<Tensor>, Optimizer> makeOpt, int steps, ulong seed)
    {
        var gen = new Generator(seed);
        var model = new Sequential(new Linear(2, hidden, generator: gen), new ReLU(), new Linear(hidden, 2, generator: gen));
        var opt = makeOpt(model.Parameters());
        int n = ys.Length;
        var x = Tensor.FromArray(xs, n, 2);
        var onehot = new float[n * 2];
        for (int i = 0; i < n; i++) onehot[2 * i + ys[i]] = 1;
        var target = Tensor.FromArray(onehot, n, 2);
        for (int s = 0; s < steps; s++)
        {
            opt.ZeroGrad();
            var diff = model.Call(x) - target;
            (diff * diff).Mean().Backward();
            opt.Step();
        }
        var pred = model.Call(x).ArgMax(1);
        return pred.Zip(ys).Count(t => t.First == t.Second) / (double)n;
    }

    static readonly float[] XorX = [0, 0, 0, 1, 1, 0, 1, 1];
    static readonly int[] XorY = [0, 1, 1, 0];

    [Fact]
    public void Sgd_learns_xor() =>
        Assert.Equal(1.0, Train(XorX, XorY, 16, ps => new Sgd(ps, 0.1, momentum: 0.9), 200, 1));

    [Fact]
    public void AdamW_learns_xor() =>
        Assert.Equal(1.0, Train(XorX, XorY, 16, ps => new AdamW(ps, 0.02), 200, 1));

    [Fact]
    public void Sgd_learns_the_spiral()
    {
        var (x, y) = Spiral(100, 7);
        Assert.True(Train(x, y, 64, ps => new Sgd(ps, 0.2, momentum: 0.9), 400, 2) >= 0.99);
    }

    [Fact]
    public void Adam_learns_the_spiral()
    {
        var (x, y) = Spiral(100, 7);
        Assert.True(Train(x, y, 64, ps => new Adam(ps, 0.02), 300, 2) >= 0.99);
    }
}
