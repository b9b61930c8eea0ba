using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class SoftmaxLossTests
{
    /// <summary>Softmax (or log-softmax) along axis of a [d0, d1, d2] array, in double.</summary>
    static float[] NaiveSoftmax(float[] x, int[] shape, int axis, bool log)
    {
        int outer = 1, inner = 1, dim = shape[axis];
        for (int i = 0; i < axis; i++) outer *= shape[i];
        for (int i = axis + 1; i < shape.Length; i++) inner *= shape[i];
        var y = new float[x.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double m = double.NegativeInfinity, s = 0;
                for (int k = 0; k < dim; k++) m = Math.Max(m, x[(o * dim + k) * inner + i]);
                for (int k = 0; k < dim; k++) s += Math.Exp(x[(o * dim + k) * inner + i] - m);
                for (int k = 0; k < dim; k++)
                {
                    double v = x[(o * dim + k) * inner + i] - m;
                    y[(o * dim + k) * inner + i] = (float)(log ? v - Math.Log(s) : Math.Exp(v) / s);
                }
            }
        return y;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Softmax_matches_reference_on_every_axis(string device)
    {
        var d = Device.Parse(device);
        int[] shape = [2, 3, 4];
        var x = Tensor.Randn(new Shape(shape), new Generator(3), d).Mul(3f);
        var xh = x.ToArray();
        foreach (int axis in new[] { 0, 1, 2, -1 })
        {
            int ax = axis < 0 ? axis + 3 : axis;
            Check.Close(NaiveSoftmax(xh, shape, ax, false), x.Softmax(axis).ToArray(), 1e-6f, 1e-5f, $"softmax axis {axis}");
            Check.Close(NaiveSoftmax(xh, shape, ax, true), x.LogSoftmax(axis).ToArray(), 1e-5f, 1e-5f, $"log_softmax axis {axis}");
        }
        // Known values: softmax([1, 2, 3]) = [0.09003057, 0.24472847, 0.66524096].
        Check.Close([0.09003057f, 0.24472847f, 0.66524096f], Tensor.FromArray([1f, 2f, 3f], new Shape(1, 3), d).Softmax(-1).ToArray(), 1e-7f);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Softmax_rows_sum_to_one_and_are_stable_for_large_logits(string device)
    {
        var d = Device.Parse(device);
        // 37 classes: a SIMD body plus a tail; logits around 1000 overflow a naive exp.
        var host = new float[4 * 37];
        var g = new Generator(5);
        for (int i = 0; i < host.Length; i++) host[i] = 1000f + (float)g.NextDouble() * 5 - (i / 37 == 3 ? 2000f : 0f);
        var x = Tensor.FromArray(host, new Shape(4, 37), d);
        var p = x.Softmax(1).ToArray();
        var lp = x.LogSoftmax(1).ToArray();
        for (int r = 0; r < 4; r++)
        {
            double s = 0;
            for (int j = 0; j < 37; j++)
            {
                Assert.True(float.IsFinite(p[r * 37 + j]) && float.IsFinite(lp[r * 37 + j]), $"row {r} not finite");
                s += p[r * 37 + j];
            }
            Assert.InRange(s, 1 - 1e-5, 1 + 1e-5);
        }
        Check.Close(NaiveSoftmax(host, [4, 37], 1, true), lp, 1e-5f, 1e-5f, "log_softmax of large logits");
        Check.Close([0.09003057f, 0.24472847f, 0.66524096f], Tensor.FromArray([1000f, 1001f, 1002f], new Shape(3), d).Softmax(0).ToArray(), 1e-6f);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Softmax_gradients_on_axes_with_inner_positions(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 7, 2, 3, 4);
        foreach (int axis in new[] { 0, 1, -1 })
        {
            Check.Gradients(t => t[0].Softmax(axis), x);
            Check.Gradients(t => t[0].LogSoftmax(axis), x);
        }
        Check.Gradients(t => t[0].LogSoftmax(1), Check.Param(d, 8, 3, 11));
        Check.Gradients(t => t[0].Softmax(0), Check.Param(d, 9, 1));
    }

    /// <summary>PyTorch's F.cross_entropy(logits, targets, label_smoothing=eps) by hand, in double.</summary>
    static double NaiveCrossEntropy(float[] x, int n, int c, int[] t, double eps)
    {
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            double m = double.NegativeInfinity, s = 0;
            for (int j = 0; j < c; j++) m = Math.Max(m, x[i * c + j]);
            for (int j = 0; j < c; j++) s += Math.Exp(x[i * c + j] - m);
            double lse = m + Math.Log(s);
            double nll = lse - x[i * c + t[i]];
            double smooth = 0;
            for (int j = 0; j < c; j++) smooth += lse - x[i * c + j];
            total += (1 - eps) * nll + eps * smooth / c;
        }
        return total / n;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Cross_entropy_matches_hand_computation_with_and_without_smoothing(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Randn(new Shape(5, 10), new Generator(11), d).Mul(2f);
        int[] t = [0, 9, 3, 3, 7];
        var xh = x.ToArray();
        foreach (var eps in new[] { 0f, 0.1f, 1f })
            // An absolute tolerance: "5 decimal places" rounds both sides and fails when values 1 ulp apart straddle a boundary.
            Assert.Equal(NaiveCrossEntropy(xh, 5, 10, t, eps), x.CrossEntropy(t, eps).Item(), 1e-5);
        // Uniform logits: loss = log C whatever the smoothing.
        Assert.Equal(Math.Log(4), Tensor.Full(new Shape(2, 4), 1000f, d).CrossEntropy([1, 2], 0.3f).Item(), 5);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Cross_entropy_gradient_is_softmax_minus_smoothed_one_hot_over_n(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 12, 3, 4);
        int[] t = [2, 0, 3];
        const float eps = 0.2f;
        x.CrossEntropy(t, eps).Backward();
        var p = NaiveSoftmax(x.ToArray(), [3, 4], 1, false);
        var expected = new float[12];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                expected[i * 4 + j] = (p[i * 4 + j] - (j == t[i] ? 1 - eps : 0) - eps / 4) / 3;
        Check.Close(expected, x.Grad!.ToArray(), 1e-6f);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Cross_entropy_and_mse_gradients(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 13, 4, 11);
        int[] t = [10, 0, 5, 5];
        Check.Gradients(z => z[0].CrossEntropy(t), x);
        Check.Gradients(z => z[0].CrossEntropy(t, 0.1f), x);
        Check.Gradients(z => z[0].CrossEntropy([0]), Check.Param(d, 14, 1, 1));
        // Composed after another op, with a non-unit upstream gradient.
        Check.Gradients(z => z[0].Tanh().CrossEntropy(t, 0.3f).Mul(3f), x);
        Check.Gradients(z => z[0].MseLoss(z[1]), Check.Param(d, 15, 3, 5), Check.Param(d, 16, 3, 5));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Mse_loss_matches_reference(string device)
    {
        var d = Device.Parse(device);
        var a = Tensor.FromArray([1f, 2f, 3f, 4f], new Shape(2, 2), d);
        var b = Tensor.FromArray([1.5f, 2f, 1f, 8f], new Shape(2, 2), d);
        Assert.Equal((0.25 + 0 + 4 + 16) / 4, a.MseLoss(b).Item(), 6);
    }

    // Large enough that rows are split across threads.
    [Fact]
    public void Softmax_and_cross_entropy_on_large_inputs_match_references()
    {
        var x = Tensor.Randn(new Shape(256, 512), new Generator(1)).Mul(4f);
        var xh = x.ToArray();
        Check.Close(NaiveSoftmax(xh, [256, 512], 1, false), x.Softmax(1).ToArray(), 1e-6f, 1e-4f, "softmax");
        Check.Close(NaiveSoftmax(xh, [2, 128, 512], 1, true), x.Reshape(2, 128, 512).LogSoftmax(1).ToArray(), 1e-5f, 1e-5f, "log_softmax axis 1");
        const int n = 8192, c = 10;
        var l = Tensor.Randn(new Shape(n, c), new Generator(2));
        l.RequiresGrad = true;
        var t = Enumerable.Range(0, n).Select(i => i * 7 % c).ToArray();
        var lh = l.ToArray();
        var loss = l.CrossEntropy(t, 0.1f);
        Assert.Equal(NaiveCrossEntropy(lh, n, c, t, 0.1), loss.Item(), 4);
        loss.Backward();
        var p = NaiveSoftmax(lh, [n, c], 1, false);
        var expected = new float[n * c];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < c; j++)
                expected[i * c + j] = (p[i * c + j] - (j == t[i] ? 0.9f : 0) - 0.01f) / n;
        Check.Close(expected, l.Grad!.ToArray(), 1e-9f, 1e-4f, "gradient");
    }

    [Fact]
    public void Bad_inputs_name_the_op_and_values()
    {
        var x = Tensor.Zeros(3, 5);
        var ex = Assert.Throws<ArgumentException>(() => x.CrossEntropy([0, 5, 1]));
        Assert.Contains("cross_entropy", ex.Message);
        Assert.Contains("target 5", ex.Message);
        Assert.Contains("index 1", ex.Message);
        Assert.Contains("5 classes", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.CrossEntropy([0, 1, -1]));
        Assert.Contains("target -1 at index 2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.CrossEntropy([0, 1]));
        Assert.Contains("2 targets", ex.Message);
        Assert.Contains("[3, 5]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3, 4).CrossEntropy([0, 1]));
        Assert.Contains("[2, 3, 4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.MseLoss(Tensor.Zeros(5, 3)));
        Assert.Contains("mse_loss", ex.Message);
        Assert.Contains("[5, 3]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.Softmax(2));
        Assert.Contains("softmax", ex.Message);
        Assert.Contains("axis 2", ex.Message);
    }
}
