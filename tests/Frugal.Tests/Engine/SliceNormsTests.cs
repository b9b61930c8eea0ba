using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class SliceNormsTests
{
    static float[] Naive(float[] x, Shape s, int axis)
    {
        int outer = s.Prod(0, axis), dim = s[axis], inner = s.Prod(axis + 1, s.Rank);
        var y = new double[dim];
        for (int o = 0; o < outer; o++)
            for (int m = 0; m < dim; m++)
                for (int i = 0; i < inner; i++) { double v = x[(o * dim + m) * inner + i]; y[m] += v * v; }
        return y.Select(v => (float)v).ToArray();
    }

    /// <summary>Matrix columns (inner 1), short blocks (inner 2), conv channels (inner ≥ 64), per-example norms (outer 1),
    /// at sizes that take the serial and the parallel paths.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Squared_norms_match_naive_sums_on_every_path(string device)
    {
        var d = TestDevices.Parse(device);
        var g = new Generator(1);
        foreach (var (shape, axis) in new (int[], int)[] { ([7, 33], 1), ([300, 700], 1), ([64, 50, 2], 1), ([16, 32, 8, 8], 1),
                     ([128, 32, 28, 28], 1), ([128, 32, 14, 14], 0), ([5, 3], 0), ([4, 0, 3], 2), ([1, 1], 0) })
        {
            var x = Tensor.Randn(new Shape(shape), g, d);
            var y = x.SquaredNorms(axis);
            Assert.Equal(new Shape(shape[axis]), y.Shape);
            Check.Close(Naive(x.ToArray(), x.Shape, axis), y.ToArray(), atol: 1e-4f, rtol: 1e-5f, what: $"{x.Shape} axis {axis}");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Squared_norms_gradient(string device)
    {
        var d = TestDevices.Parse(device);
        Check.Gradients(t => t[0].SquaredNorms(1), Check.Param(d, 2, 3, 4, 5));
        Check.Gradients(t => t[0].SquaredNorms(0), Check.Param(d, 3, 6, 2));
    }
}
