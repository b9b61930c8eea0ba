using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class NormalizationTests
{
    /// <summary>Per-channel batch mean and biased variance of x viewed as [n, c, inner], in double.</summary>
    static (double[] Mean, double[] Var) NaiveStats(float[] x, int n, int c, int inner)
    {
        var mean = new double[c]; var var = new double[c];
        int m = n * inner;
        for (int ch = 0; ch < c; ch++)
        {
            double s = 0;
            for (int i = 0; i < n; i++) for (int k = 0; k < inner; k++) s += x[(i * c + ch) * inner + k];
            mean[ch] = s / m;
            double q = 0;
            for (int i = 0; i < n; i++) for (int k = 0; k < inner; k++) { double dv = x[(i * c + ch) * inner + k] - mean[ch]; q += dv * dv; }
            var[ch] = q / m;
        }
        return (mean, var);
    }

    static float[] NaiveNormalize(float[] x, int n, int c, int inner, double[] mean, double[] var, float[] w, float[] b, double eps = 1e-5)
    {
        var y = new float[x.Length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int k = 0; k < inner; k++)
                {
                    int at = (i * c + ch) * inner + k;
                    y[at] = (float)((x[at] - mean[ch]) / Math.Sqrt(var[ch] + eps) * w[ch] + b[ch]);
                }
        return y;
    }

    // Inner sizes 1 ([N, C]), 6 (row-wise kernel path) and 64 (channel-wise path).
    public static TheoryData<string, int[]> BnShapes()
    {
        var d = new TheoryData<string, int[]>();
        foreach (var dev in TestDevices.Names)
        {
            d.Add(dev, [5, 4]);
            d.Add(dev, [4, 3, 2, 3]);
            d.Add(dev, [3, 2, 8, 8]);
            d.Add(dev, [1, 3, 6, 6]);
        }
        return d;
    }

    [Theory, MemberData(nameof(BnShapes))]
    public void Batch_norm_matches_naive_per_channel_computation_and_updates_running_stats(string device, int[] shape)
    {
        var d = Device.Parse(device);
        int n = shape[0], c = shape[1], inner = new Shape(shape).Prod(2, shape.Length);
        var w = Tensor.Randn(new Shape(c), new Generator(1), d);
        var b = Tensor.Randn(new Shape(c), new Generator(2), d);
        var rm = Tensor.Zeros(new Shape(c), d);
        var rv = Tensor.Full(new Shape(c), 1f, d);
        double[] erm = new double[c], erv = Enumerable.Repeat(1.0, c).ToArray();
        for (int step = 0; step < 2; step++)
        {
            // Offset the data so a one-pass E[x²] − E[x]² would lose digits.
            var x = Tensor.Randn(new Shape(shape), new Generator(10 + (ulong)step), d).Mul(2f).Add(50f);
            var xh = x.ToArray();
            var (mean, var) = NaiveStats(xh, n, c, inner);
            var y = x.BatchNorm(w, b, rm, rv, training: true);
            Check.Close(NaiveNormalize(xh, n, c, inner, mean, var, w.ToArray(), b.ToArray()), y.ToArray(), 2e-4f, 1e-4f, $"train step {step}");
            int m = n * inner;
            for (int ch = 0; ch < c; ch++)
            {
                erm[ch] = 0.9 * erm[ch] + 0.1 * mean[ch];
                erv[ch] = 0.9 * erv[ch] + 0.1 * var[ch] * m / (m - 1);
            }
            Check.Close(erm.Select(v => (float)v).ToArray(), rm.ToArray(), 1e-4f, 1e-5f, "running_mean");
            Check.Close(erv.Select(v => (float)v).ToArray(), rv.ToArray(), 1e-4f, 1e-4f, "running_var");
        }
        // Evaluation normalises with the running statistics.
        var xe = Tensor.Randn(new Shape(shape), new Generator(20), d);
        var ye = xe.BatchNorm(w, b, rm, rv, training: false);
        Check.Close(NaiveNormalize(xe.ToArray(), n, c, inner, erm, erv, w.ToArray(), b.ToArray()), ye.ToArray(), 1e-4f, 1e-4f, "eval");
        Check.Close(erm.Select(v => (float)v).ToArray(), rm.ToArray(), 1e-4f, 1e-5f, "running_mean unchanged by eval");
    }

    [Theory, MemberData(nameof(BnShapes))]
    public void Batch_norm_gradients_for_x_weight_bias(string device, int[] shape)
    {
        var d = Device.Parse(device);
        int c = shape[1];
        var x = Check.Param(d, 3, shape);
        var w = Check.Param(d, 4, c);
        var b = Check.Param(d, 5, c);
        Check.Gradients(t => t[0].BatchNorm(t[1], t[2], null, null, training: true), x, w, b);
        // Evaluation mode: fixed statistics.
        var rm = Tensor.Randn(new Shape(c), new Generator(6), d);
        var rv = Tensor.Uniform(new Shape(c), 0.5f, 2f, new Generator(7), d);
        Check.Gradients(t => t[0].BatchNorm(t[1], t[2], rm, rv, training: false), x, w, b);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Batch_norm_gradients_without_affine_and_with_frozen_weight(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 8, 3, 2, 2, 2);
        Check.Gradients(t => t[0].BatchNorm(null, null, null, null, training: true), x);
        var w = Tensor.Randn(new Shape(2), new Generator(9), d);
        var b = Check.Param(d, 10, 2);
        Check.Gradients(t => t[0].BatchNorm(w, t[1], null, null, training: true), x, b);
        // Gradient for the parameters only (x does not require grad).
        var xc = Tensor.Randn(new Shape(4, 3), new Generator(11), d);
        Check.Gradients(t => t[1].BatchNorm(t[0], null, null, null, training: true), Check.Param(d, 12, 3), xc);
    }

    [Fact]
    public void Batch_norm_bad_inputs_are_named()
    {
        var x = Tensor.Zeros(2, 3, 4, 4);
        var ex = Assert.Throws<ArgumentException>(() => x.BatchNorm(Tensor.Ones(4), null, null, null, true));
        Assert.Contains("batch_norm", ex.Message);
        Assert.Contains("3 channels", ex.Message);
        Assert.Contains("weight has 4", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.BatchNorm(null, null, Tensor.Zeros(5), Tensor.Ones(5), true));
        Assert.Contains("running_mean has 5", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 3).BatchNorm(null, null, null, null, true));
        Assert.Contains("more than 1 value per channel", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => x.BatchNorm(null, null, null, null, false));
        Assert.Contains("running_mean", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).BatchNorm(null, null, null, null, true));
        Assert.Contains("[3]", ex.Message);
    }

    /// <summary>dx, dγ, dβ of training-mode batch norm in double: dx = γ/(σM)·(M·g − Σg − x̂·Σ g·x̂).</summary>
    static (float[] Dx, float[] Dw, float[] Db) NaiveBatchNormBackward(float[] x, float[] g, float[] w, int n, int c, int inner, double eps = 1e-5)
    {
        var (mean, var) = NaiveStats(x, n, c, inner);
        var dx = new float[x.Length]; var dw = new float[c]; var db = new float[c];
        int m = n * inner;
        for (int ch = 0; ch < c; ch++)
        {
            double inv = 1 / Math.Sqrt(var[ch] + eps), sg = 0, sgx = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < inner; k++)
                {
                    int at = (i * c + ch) * inner + k;
                    sg += g[at]; sgx += g[at] * (x[at] - mean[ch]) * inv;
                }
            dw[ch] = (float)sgx; db[ch] = (float)sg;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < inner; k++)
                {
                    int at = (i * c + ch) * inner + k;
                    dx[at] = (float)(w[ch] * inv / m * (m * g[at] - sg - (x[at] - mean[ch]) * inv * sgx));
                }
        }
        return (dx, dw, db);
    }

    // Large enough that the kernels split channels (or column blocks) across threads.
    [Theory]
    [InlineData(8, 4, 4096)]
    [InlineData(2048, 64, 1)]
    [InlineData(512, 16, 9)]
    public void Batch_norm_on_large_inputs_matches_reference_forward_and_backward(int n, int c, int inner)
    {
        var x = Tensor.Randn(new Shape(n, c, inner), new Generator(1)).Add(3f);
        x.RequiresGrad = true;
        var w = Tensor.Randn(new Shape(c), new Generator(2)); w.RequiresGrad = true;
        var b = Tensor.Randn(new Shape(c), new Generator(3)); b.RequiresGrad = true;
        var g = Tensor.Randn(x.Shape, new Generator(4));
        var y = x.BatchNorm(w, b, null, null, training: true);
        var xh = x.ToArray();
        var (mean, var) = NaiveStats(xh, n, c, inner);
        Check.Close(NaiveNormalize(xh, n, c, inner, mean, var, w.ToArray(), b.ToArray()), y.ToArray(), 1e-4f, 1e-4f, "forward");
        y.Backward(g);
        var (dx, dw, db) = NaiveBatchNormBackward(xh, g.ToArray(), w.ToArray(), n, c, inner);
        Check.Close(dx, x.Grad!.ToArray(), 1e-5f, 1e-3f, "dx");
        Check.Close(dw, w.Grad!.ToArray(), 1e-2f, 1e-4f, "dweight");
        Check.Close(db, b.Grad!.ToArray(), 1e-2f, 1e-4f, "dbias");
    }

    [Fact]
    public void Layer_norm_on_large_inputs_matches_reference_forward_and_backward()
    {
        const int rows = 256, dim = 512;
        var x = Tensor.Randn(new Shape(rows, dim), new Generator(1));
        x.RequiresGrad = true;
        var w = Tensor.Randn(new Shape(dim), new Generator(2)); w.RequiresGrad = true;
        var b = Tensor.Randn(new Shape(dim), new Generator(3)); b.RequiresGrad = true;
        var g = Tensor.Randn(x.Shape, new Generator(4));
        var y = x.LayerNorm([dim], w, b);
        var xh = x.ToArray(); var gh = g.ToArray(); var wh = w.ToArray();
        Check.Close(NaiveLayerNorm(xh, rows, dim, wh, b.ToArray()), y.ToArray(), 1e-4f, 1e-4f, "forward");
        y.Backward(g);
        // A layer norm row is a batch norm with one channel over dim values, with a per-value weight.
        var dx = new float[rows * dim]; var dw = new double[dim]; var db = new double[dim];
        for (int r = 0; r < rows; r++)
        {
            var xr = xh[(r * dim)..((r + 1) * dim)];
            var ghr = Enumerable.Range(0, dim).Select(j => gh[r * dim + j] * wh[j]).ToArray();
            var (dxr, _, _) = NaiveBatchNormBackward(xr, ghr, [1f], 1, 1, dim);
            dxr.CopyTo(dx, r * dim);
            var (mean, var) = NaiveStats(xr, 1, 1, dim);
            for (int j = 0; j < dim; j++)
            {
                dw[j] += gh[r * dim + j] * (xr[j] - mean[0]) / Math.Sqrt(var[0] + 1e-5);
                db[j] += gh[r * dim + j];
            }
        }
        Check.Close(dx, x.Grad!.ToArray(), 1e-5f, 1e-3f, "dx");
        Check.Close(dw.Select(v => (float)v).ToArray(), w.Grad!.ToArray(), 1e-3f, 1e-4f, "dweight");
        Check.Close(db.Select(v => (float)v).ToArray(), b.Grad!.ToArray(), 1e-3f, 1e-4f, "dbias");
    }

    static float[] NaiveLayerNorm(float[] x, int rows, int dim, float[]? w, float[]? b, double eps = 1e-5)
    {
        var y = new float[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double m = 0, v = 0;
            for (int j = 0; j < dim; j++) m += x[r * dim + j];
            m /= dim;
            for (int j = 0; j < dim; j++) v += (x[r * dim + j] - m) * (x[r * dim + j] - m);
            v /= dim;
            for (int j = 0; j < dim; j++)
                y[r * dim + j] = (float)((x[r * dim + j] - m) / Math.Sqrt(v + eps) * (w?[j] ?? 1) + (b?[j] ?? 0));
        }
        return y;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Layer_norm_matches_naive_computation(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.Randn(new Shape(2, 3, 20), new Generator(1), d).Add(10f);
        var w = Tensor.Randn(new Shape(3, 20), new Generator(2), d);
        var b = Tensor.Randn(new Shape(3, 20), new Generator(3), d);
        Check.Close(NaiveLayerNorm(x.ToArray(), 2, 60, w.ToArray(), b.ToArray()), x.LayerNorm([3, 20], w, b).ToArray(), 1e-4f, 1e-4f, "[3, 20]");
        Check.Close(NaiveLayerNorm(x.ToArray(), 6, 20, null, null), x.LayerNorm([20]).ToArray(), 1e-4f, 1e-4f, "[20] no affine");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Layer_norm_gradients(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 1, 3, 9);
        Check.Gradients(t => t[0].LayerNorm([9], t[1], t[2]), x, Check.Param(d, 2, 9), Check.Param(d, 3, 9));
        Check.Gradients(t => t[0].LayerNorm([9]), x);
        Check.Gradients(t => t[0].LayerNorm([3, 4], t[1], t[2]), Check.Param(d, 4, 2, 3, 4), Check.Param(d, 5, 3, 4), Check.Param(d, 6, 3, 4));
        Check.Gradients(t => t[0].LayerNorm([4], t[1]), Check.Param(d, 7, 1, 4), Check.Param(d, 8, 4));
    }

    [Fact]
    public void Layer_norm_bad_shapes_are_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).LayerNorm([4]));
        Assert.Contains("layer_norm", ex.Message);
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[4]", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).LayerNorm([3], Tensor.Ones(2)));
        Assert.Contains("weight", ex.Message);
        Assert.Contains("[2]", ex.Message);
    }
}
