using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class MatMulTests
{
    static float[] NaiveMatmul(float[] a, float[] b, int m, int k, int n)
    {
        var c = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
                c[i * n + j] = (float)s;
            }
        return c;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Matmul_matches_naive_loops(string device)
    {
        var d = Device.Parse(device);
        foreach (var (m, k, n) in new[] { (1, 1, 1), (3, 5, 2), (17, 33, 9), (64, 70, 65) })
        {
            var a = Tensor.Randn(new Shape(m, k), new Generator(1), d);
            var b = Tensor.Randn(new Shape(k, n), new Generator(2), d);
            Check.Close(NaiveMatmul(a.ToArray(), b.ToArray(), m, k, n), a.Matmul(b).ToArray(), 1e-4f, 1e-4f, $"{m}x{k}x{n}");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Batched_matmul_matches_per_batch_products(string device)
    {
        var d = Device.Parse(device);
        var a = Tensor.Randn(new Shape(3, 4, 5), new Generator(1), d);
        var b = Tensor.Randn(new Shape(3, 5, 2), new Generator(2), d);
        var y = a.Matmul(b).ToArray();
        var ah = a.ToArray(); var bh = b.ToArray();
        for (int i = 0; i < 3; i++)
            Check.Close(NaiveMatmul(ah[(i * 20)..((i + 1) * 20)], bh[(i * 10)..((i + 1) * 10)], 4, 5, 2), y[(i * 8)..((i + 1) * 8)], 1e-4f);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Matmul_gradients(string device)
    {
        var d = Device.Parse(device);
        Check.Gradients(x => x[0].Matmul(x[1]), Check.Param(d, 1, 3, 4), Check.Param(d, 2, 4, 5));
        Check.Gradients(x => x[0].Matmul(x[1]), Check.Param(d, 1, 2, 3, 4), Check.Param(d, 2, 2, 4, 5));
        Check.Gradients(x => x[0].Matmul(x[1]), Check.Param(d, 1, 2, 3, 4), Check.Param(d, 2, 4, 5));
        Check.Gradients(x => x[0].Matmul(x[1]), Check.Param(d, 1, 3, 4), Check.Param(d, 2, 2, 4, 5));
        Check.Gradients(x => x[0].Matmul(x[1]), Check.Param(d, 1, 1, 1), Check.Param(d, 2, 1, 1));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Linear_forward_and_gradients(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 1, 4, 3);
        var w = Check.Param(d, 2, 5, 3);
        var b = Check.Param(d, 3, 5);
        var expected = x.Matmul(w.Permute(1, 0)) + b;
        Check.Close(expected, x.Linear(w, b), 1e-5f);
        Check.Gradients(t => t[0].Linear(t[1], t[2]), x, w, b);
        Check.Gradients(t => t[0].Linear(t[1]), x, w);
        Check.Gradients(t => t[0].Linear(t[1], t[2]), Check.Param(d, 4, 1, 1), Check.Param(d, 5, 1, 1), Check.Param(d, 6, 1));
    }

    [Fact]
    public void Mismatched_shapes_are_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Matmul(Tensor.Zeros(4, 5)));
        Assert.Contains("matmul", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Linear(Tensor.Zeros(5, 4)));
        Assert.Contains("linear", ex2.Message);
        Assert.Contains("[5, 4]", ex2.Message);
    }
}
