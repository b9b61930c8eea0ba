using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class PoolingTests
{
    /// <summary>Max or mean over each window by direct loops; padding is skipped (−∞ for max, zeros for mean).</summary>
    static float[] NaivePool(float[] x, int planes, int h, int w, (int H, int W) k, (int H, int W) s, (int H, int W) p, bool max, bool countIncludePad)
    {
        int oh = (h + 2 * p.H - k.H) / s.H + 1, ow = (w + 2 * p.W - k.W) / s.W + 1;
        var y = new float[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    double acc = max ? double.NegativeInfinity : 0;
                    int inside = 0;
                    for (int ki = 0; ki < k.H; ki++)
                        for (int kj = 0; kj < k.W; kj++)
                        {
                            int ih = i * s.H - p.H + ki, iw = j * s.W - p.W + kj;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                            double v = x[(pl * h + ih) * w + iw];
                            acc = max ? Math.Max(acc, v) : acc + v;
                            inside++;
                        }
                    y[(pl * oh + i) * ow + j] = (float)(max ? acc : acc / (countIncludePad ? k.H * k.W : inside));
                }
        return y;
    }

    static float[] NaiveAdaptive(float[] x, int planes, int h, int w, int oh, int ow)
    {
        var y = new float[planes * oh * ow];
        for (int pl = 0; pl < planes; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    // PyTorch: start = floor(i·H/out), end = ceil((i+1)·H/out).
                    int h0 = (int)Math.Floor((double)i * h / oh), h1 = (int)Math.Ceiling((double)(i + 1) * h / oh);
                    int w0 = (int)Math.Floor((double)j * w / ow), w1 = (int)Math.Ceiling((double)(j + 1) * w / ow);
                    double acc = 0;
                    for (int a = h0; a < h1; a++)
                        for (int b = w0; b < w1; b++) acc += x[(pl * h + a) * w + b];
                    y[(pl * oh + i) * ow + j] = (float)(acc / ((h1 - h0) * (w1 - w0)));
                }
        return y;
    }

    /// <summary>Distinct values (a scaled random permutation, 0.1 apart) so no window has a tie a finite difference could flip.</summary>
    static Tensor Distinct(Device d, ulong seed, params int[] shape)
    {
        int n = new Shape(shape).Numel;
        var perm = new Generator(seed).Permutation(n);
        var t = Tensor.FromArray(perm.Select(v => (v - n / 2f) * 0.1f).ToArray(), new Shape(shape), d);
        t.RequiresGrad = true;
        return t;
    }

    public sealed record Win((int H, int W) K, (int H, int W) S, (int H, int W) P, int H = 5, int W = 5)
    {
        public override string ToString() => $"k{K} s{S} p{P} on {H}x{W}";
    }

    static Win[] Windows =>
    [
        new((2, 2), (2, 2), (0, 0), 6, 6),          // the CNN's pooling
        new((2, 2), (2, 2), (0, 0)),                // odd size: last row/column dropped
        new((3, 3), (2, 2), (1, 1)),                // overlapping windows with padding (ResNet stem)
        new((2, 2), (1, 1), (0, 0)),                // overlapping, stride 1
        new((3, 3), (1, 1), (1, 1)),
        new((2, 3), (1, 2), (1, 1), 4, 5),          // non-square
        new((5, 5), (1, 1), (0, 0)),                // one window covers everything
        new((1, 1), (1, 1), (0, 0), 1, 1),          // size 1
    ];

    public static TheoryData<string, int> Cases()
    {
        var d = new TheoryData<string, int>();
        foreach (var dev in TestDevices.Names)
            for (int i = 0; i < Windows.Length; i++) d.Add(dev, i);
        return d;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Max_pool_matches_naive_loops_and_gradchecks(string device, int index)
    {
        var d = Device.Parse(device);
        var c = Windows[index];
        var x = Distinct(d, 1, 2, 3, c.H, c.W);
        var y = x.MaxPool2d(c.K, c.S, c.P);
        Check.Close(NaivePool(x.ToArray(), 6, c.H, c.W, c.K, c.S, c.P, max: true, false), y.ToArray(), 0, 0, c.ToString());
        Check.Gradients(t => t[0].MaxPool2d(c.K, c.S, c.P), x);
    }

    [Theory, MemberData(nameof(Cases))]
    public void Avg_pool_matches_naive_loops_and_gradchecks(string device, int index)
    {
        var d = Device.Parse(device);
        var c = Windows[index];
        var x = Check.Param(d, 2, 2, 3, c.H, c.W);
        foreach (var include in new[] { true, false })
        {
            var y = x.AvgPool2d(c.K, c.S, c.P, include);
            Check.Close(NaivePool(x.ToArray(), 6, c.H, c.W, c.K, c.S, c.P, max: false, include), y.ToArray(), 1e-5f, 1e-5f, $"{c} include={include}");
            Check.Gradients(t => t[0].AvgPool2d(c.K, c.S, c.P, include), x);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Max_pool_on_wide_planes_matches_naive_loops(string device)
    {
        // Wide enough for the vectorised rows (8 outputs at a time, strides 1, 2, 3) and their tails.
        var d = Device.Parse(device);
        int h = 20, w = 37;
        var x = Distinct(d, 5, 2, 3, h, w);
        var xh = x.ToArray();
        foreach (var (k, s) in new[] { ((2, 2), (2, 2)), ((3, 3), (1, 1)), ((3, 2), (3, 3)), ((2, 3), (1, 2)) })
        {
            var y = x.MaxPool2d(k, s);
            Check.Close(NaivePool(xh, 6, h, w, k, s, (0, 0), max: true, false), y.ToArray(), 0, 0, $"k{k} s{s}");
            // Backward: each output's gradient lands on its window's maximum.
            var gy = Tensor.Randn(y.Shape, new Generator(6), d);
            x.Grad = null;
            y.Backward(gy);
            var gyh = gy.ToArray();
            var expected = new float[xh.Length];
            int oh = y.Shape[2], ow = y.Shape[3];
            for (int pl = 0; pl < 6; pl++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        int best = -1;
                        for (int ki = 0; ki < k.Item1; ki++)
                            for (int kj = 0; kj < k.Item2; kj++)
                            {
                                int at = (pl * h + i * s.Item1 + ki) * w + j * s.Item2 + kj;
                                if (best < 0 || xh[at] > xh[best]) best = at;
                            }
                        expected[best] += gyh[(pl * oh + i) * ow + j];
                    }
            Check.Close(expected, x.Grad!.ToArray(), 1e-6f, 1e-6f, $"grad k{k} s{s}");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Int_overloads_default_the_stride_to_the_kernel(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 3, 2, 2, 7, 7);
        Assert.Equal(new Shape(2, 2, 3, 3), x.MaxPool2d(2).Shape);
        Check.Close(x.MaxPool2d((2, 2), (2, 2)), x.MaxPool2d(2));
        Check.Close(x.AvgPool2d((3, 3), (2, 2), (1, 1)), x.AvgPool2d(3, 2, 1));
        Assert.Equal(new Shape(2, 2, 4, 4), x.AvgPool2d(3, 2, 1).Shape);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Max_pool_gradient_goes_to_the_max_and_accumulates_on_shared_maxima(string device)
    {
        var d = Device.Parse(device);
        // A 3x3 plane whose centre is the maximum of all four overlapping 2x2 windows.
        var x = Tensor.FromArray([1, 2, 3, 4, 9, 5, 6, 7, 8], new Shape(1, 1, 3, 3), d);
        x.RequiresGrad = true;
        var y = x.MaxPool2d(2, 1);
        Assert.Equal([9f, 9f, 9f, 9f], y.ToArray());
        y.Backward(Tensor.FromArray([1, 2, 3, 4], new Shape(1, 1, 2, 2), d));
        Assert.Equal([0, 0, 0, 0, 10, 0, 0, 0, 0], x.Grad!.ToArray());
    }

    [Fact]
    public void Max_pool_propagates_nan_and_ignores_padding()
    {
        var x = Tensor.FromArray([-5, -6, float.NaN, -7], new Shape(1, 1, 2, 2));
        var y = x.MaxPool2d(2).ToArray();
        Assert.True(float.IsNaN(y[0]));
        // The same on a plane wide enough for the vectorised path: NaN wins wherever it is in the window.
        var wide = Enumerable.Range(0, 80).Select(i => (float)i).ToArray();
        wide[3] = float.NaN; wide[20 + 10] = float.NaN; wide[61] = float.NaN;
        var wy = Tensor.FromArray(wide, new Shape(1, 1, 4, 20)).MaxPool2d(2).ToArray();
        for (int i = 0; i < wy.Length; i++)
            Assert.Equal(i is 1 or 5 or 10, float.IsNaN(wy[i]));
        var neg = Tensor.FromArray([-5, -6, -8, -7], new Shape(1, 1, 2, 2));
        // Padding is −∞, not 0: all-negative windows keep their maximum.
        Assert.Equal([-5f, -5f, -6f, -5f, -5f, -6f, -8f, -7f, -7f], neg.MaxPool2d(2, 1, 1).ToArray());
    }

    public static TheoryData<string, int, int, int, int> AdaptiveCases()
    {
        var d = new TheoryData<string, int, int, int, int>();
        foreach (var dev in TestDevices.Names)
        {
            d.Add(dev, 5, 5, 3, 3);   // non-divisible: overlapping bins
            d.Add(dev, 7, 6, 2, 4);
            d.Add(dev, 4, 4, 4, 4);   // identity
            d.Add(dev, 6, 5, 1, 1);   // global average pooling
            d.Add(dev, 3, 2, 5, 4);   // output larger than input
            d.Add(dev, 1, 1, 1, 1);
        }
        return d;
    }

    [Theory, MemberData(nameof(AdaptiveCases))]
    public void Adaptive_avg_pool_matches_pytorch_bins_and_gradchecks(string device, int h, int w, int oh, int ow)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 4, 2, 2, h, w);
        var y = x.AdaptiveAvgPool2d(oh, ow);
        Assert.Equal(new Shape(2, 2, oh, ow), y.Shape);
        Check.Close(NaiveAdaptive(x.ToArray(), 4, h, w, oh, ow), y.ToArray(), 1e-5f, 1e-5f, $"{h}x{w}->{oh}x{ow}");
        Check.Gradients(t => t[0].AdaptiveAvgPool2d(oh, ow), x);
    }

    [Fact]
    public void Adaptive_bins_of_5_to_3_are_pytorchs()
    {
        // Bins [0,2), [1,4), [3,5) along each axis.
        var x = Tensor.FromArray([0, 1, 2, 3, 4], new Shape(1, 1, 1, 5));
        Assert.Equal([0.5f, 2f, 3.5f], x.AdaptiveAvgPool2d(1, 3).ToArray());
    }

    [Fact]
    public void Bad_inputs_name_the_op_and_the_sizes()
    {
        var k = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 1, 3, 3).MaxPool2d(5));
        Assert.Contains("max_pool2d", k.Message);
        Assert.Contains("5x5", k.Message);
        Assert.Contains("3x3", k.Message);
        var p = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 1, 6, 6).AvgPool2d(2, 2, 2));
        Assert.Contains("avg_pool2d", p.Message);
        Assert.Contains("padding", p.Message);
        var r = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3, 6, 6).MaxPool2d(2));
        Assert.Contains("[3, 6, 6]", r.Message);
        var a = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 1, 6, 6).AdaptiveAvgPool2d(0, 2));
        Assert.Contains("adaptive_avg_pool2d", a.Message);
        var s = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 1, 6, 6).MaxPool2d(2, 0));
        Assert.Contains("stride", s.Message);
    }

    [Fact]
    public void Modules_apply_their_ops()
    {
        var x = Tensor.Randn(new Shape(2, 3, 8, 8), new Generator(9));
        var mp = new MaxPool2d(2);
        Assert.Equal(2, mp.Stride);
        Check.Close(x.MaxPool2d(2), mp.Call(x));
        Check.Close(x.MaxPool2d(3, 2, 1), new MaxPool2d(3, 2, 1).Call(x));
        Check.Close(x.AvgPool2d(3, 2, 1, false), new AvgPool2d(3, 2, 1, countIncludePad: false).Call(x));
        Assert.True(new AvgPool2d(2).CountIncludePad);
        Check.Close(x.AdaptiveAvgPool2d(1, 1), new AdaptiveAvgPool2d(1).Call(x));
        Assert.Equal(new Shape(2, 3, 3, 2), new AdaptiveAvgPool2d(3, 2).Call(x).Shape);
        foreach (Module m in new Module[] { mp, new AvgPool2d(2), new AdaptiveAvgPool2d(1) })
        {
            Assert.Empty(m.StateDict());
            Assert.Empty(m.Parameters());
        }
    }
}
