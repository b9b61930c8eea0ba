using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>
/// Small synthetic problems, deterministic by seed, for methods that want a quick, known answer (the closed-form
/// fit's toy problems, ../shared/METHODS.md §4.5). Draw the test set with another seed.
/// </summary>
public static class ToyData
{
    /// <summary>
    /// <paramref name="classes"/> interleaved spiral arms in the plane (the CS231n toy set): example i has class
    /// i mod K, radius r ~ U(0, 1) and angle 2πk/K + 4r + noise·N(0, 1); inputs [n, 2] = r·(sin θ, cos θ).
    /// </summary>
    public static TensorDataset Spirals(int n, int classes = 3, double noise = 0.2, ulong seed = 0)
    {
        Check(n, noise, "spirals");
        if (classes < 2) throw new ArgumentException($"spirals: need at least 2 classes, got {classes}");
        var g = new Generator(seed);
        var x = new float[2 * n];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            int k = i % classes;
            double r = g.NextDouble(), theta = 2 * Math.PI * k / classes + 4 * r + noise * Normal(g);
            x[2 * i] = (float)(r * Math.Sin(theta));
            x[2 * i + 1] = (float)(r * Math.Cos(theta));
            y[i] = k;
        }
        return new TensorDataset(x, [2], y);
    }

    /// <summary>XOR: inputs uniform in [−1, 1]², plus noise·N(0, 1) after labelling; class 1 when the signs differ.</summary>
    public static TensorDataset Xor(int n, double noise = 0.05, ulong seed = 0)
    {
        Check(n, noise, "xor");
        var g = new Generator(seed);
        var x = new float[2 * n];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            double a = 2 * g.NextDouble() - 1, b = 2 * g.NextDouble() - 1;
            y[i] = (a < 0) != (b < 0) ? 1 : 0;
            x[2 * i] = (float)(a + noise * Normal(g));
            x[2 * i + 1] = (float)(b + noise * Normal(g));
        }
        return new TensorDataset(x, [2], y);
    }

    /// <summary>Regression: x ~ U(−π, π), target sin x + noise·N(0, 1); inputs and targets [n, 1].</summary>
    public static TensorDataset Sine(int n, double noise = 0.05, ulong seed = 0)
    {
        Check(n, noise, "sine");
        var g = new Generator(seed);
        var x = new float[n];
        var t = new float[n];
        for (int i = 0; i < n; i++)
        {
            double v = Math.PI * (2 * g.NextDouble() - 1);
            x[i] = (float)v;
            t[i] = (float)(Math.Sin(v) + noise * Normal(g));
        }
        return new TensorDataset(x, [1], targets: t, targetShape: [1]);
    }

    static void Check(int n, double noise, string name)
    {
        if (n < 1) throw new ArgumentException($"{name}: need at least 1 example, got {n}");
        if (!(noise >= 0) || double.IsInfinity(noise)) throw new ArgumentException($"{name}: noise must be ≥ 0, got {noise}");
    }

    /// <summary>A standard normal draw (Box–Muller on the generator's doubles).</summary>
    static double Normal(Generator g) => Math.Sqrt(-2 * Math.Log(1 - g.NextDouble())) * Math.Cos(2 * Math.PI * g.NextDouble());
}
