using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

/// <summary>The fused relu(batch_norm(x)) against the two ops composed, and when Sequential fuses them.</summary>
public class BatchNormReluTests
{
    public static TheoryData<string, int[]> Shapes()
    {
        var d = new TheoryData<string, int[]>();
        foreach (var dev in TestDevices.Names)
        {
            d.Add(dev, [6, 5]);            // [N, C]: the row-wise kernel
            d.Add(dev, [4, 3, 2, 3]);      // small planes: row-wise
            d.Add(dev, [3, 2, 8, 8]);      // channel-wise
        }
        return d;
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Fused_values_and_gradients_equal_batch_norm_then_relu(string device, int[] shape)
    {
        var d = Device.Parse(device);
        int c = shape[1];
        foreach (bool training in new[] { true, false })
        {
            var rm = Tensor.Randn(new Shape(c), new Generator(6), d);
            var rv = Tensor.Uniform(new Shape(c), 0.5f, 2f, new Generator(7), d);
            (float[] Y, float[] Gx, float[] Gw, float[] Gb) Run(bool fused)
            {
                var x = Check.Param(d, 3, shape); var w = Check.Param(d, 4, c); var b = Check.Param(d, 5, c);
                var y = fused ? x.BatchNormRelu(w, b, training ? null : rm, training ? null : rv, training)
                              : x.BatchNorm(w, b, training ? null : rm, training ? null : rv, training).Relu();
                y.Backward(Tensor.Randn(y.Shape, new Generator(8), d));
                return (y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b.Grad!.ToArray());
            }
            var f = Run(true); var u = Run(false);
            Assert.Contains(f.Y, v => v == 0);       // the ReLU did clip something
            Check.Close(u.Y, f.Y, 1e-6f, 1e-5f, "y");
            Check.Close(u.Gx, f.Gx, 1e-5f, 1e-4f, "gx");
            Check.Close(u.Gw, f.Gw, 1e-5f, 1e-4f, "gw");
            Check.Close(u.Gb, f.Gb, 1e-5f, 1e-4f, "gb");
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Fused_gradients_pass_the_finite_difference_check(string device)
    {
        var d = Device.Parse(device);
        var x = Check.Param(d, 13, 3, 2, 4, 4); var w = Check.Param(d, 14, 2); var b = Check.Param(d, 15, 2);
        Check.Gradients(t => t[0].BatchNormRelu(t[1], t[2], null, null, training: true), x, w, b);
    }

    /// <summary>
    /// The fused backward's ReLU mask at pre-activations of exactly zero: x takes four values, and the bias is minus
    /// the normalised value of x = 1 as the forward computed it, so a quarter of the pre-activations are 0 and masked.
    /// A backward that formed y by other arithmetic than the forward's (or from other statistics) would put some of
    /// them an ulp above zero and let their gradient through.
    /// </summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Fused_backward_masks_exactly_what_the_forward_clipped(string device)
    {
        var d = Device.Parse(device);
        // 16 channels with their own weights, so that a scale rounded another way differs in some of them.
        const int c = 16, plane = 64;
        int[] shape = [4, c, 8, 8];
        int n = shape.Aggregate(1, (a, b) => a * b);
        var values = Enumerable.Range(0, n).Select(i => (float)((i * 7 + i / 5) % 4) - 1).ToArray();
        var w = Tensor.Uniform(new Shape(c), 0.5f, 2f, new Generator(3), d);
        var unbiased = Tensor.FromArray(values, new Shape(shape), d).BatchNorm(w, null, null, null, training: true).ToArray();
        var bias = Tensor.FromArray(Enumerable.Range(0, c).Select(k => -unbiased[Array.FindIndex(values, k * plane, v => v == 1f)]).ToArray(), new Shape(c), d);
        (float[] Y, float[] Gx) Run(bool fused)
        {
            var x = Tensor.FromArray(values, new Shape(shape), d);
            x.RequiresGrad = true;
            var y = fused ? x.BatchNormRelu(w, bias, null, null, training: true) : x.BatchNorm(w, bias, null, null, training: true).Relu();
            y.Backward(Tensor.Full(y.Shape, 1f, d));
            return (y.ToArray(), x.Grad!.ToArray());
        }
        var f = Run(true); var u = Run(false);
        Assert.True(Enumerable.Range(0, n).Count(i => values[i] == 1 && f.Y[i] == 0) == values.Count(v => v == 1), "x = 1 is not at the ReLU's boundary");
        Assert.Equal(u.Y, f.Y);
        Assert.Equal(u.Gx, f.Gx);
    }

    [Fact]
    public void Sequential_fuses_an_unobserved_batch_norm_and_relu_and_keeps_observed_ones_apart()
    {
        var model = new Sequential(new Conv2d(1, 4, 3, padding: 1), new BatchNorm2d(4), new ReLU());
        var x = Tensor.Randn(new Shape(2, 1, 5, 5), new Generator(1));
        var fused = model.Call(x);
        Assert.Equal("BatchNormFn", fused.GradFn!.GetType().Name);
        // The same layers called one by one (what an observed pair runs) give the same output.
        var separate = model[2].Call(model[1].Call(model[0].Call(x)));
        Assert.NotEqual("BatchNormFn", separate.GradFn!.GetType().Name);
        Check.Close(separate.ToArray(), fused.ToArray(), 1e-6f, 1e-5f, "y");
        int seen = 0;
        using var handle = model[2].RegisterForwardHook((_, y) => { seen++; return y; });
        var observed = model.Call(x);
        Assert.Equal(1, seen);
        Assert.NotEqual("BatchNormFn", observed.GradFn!.GetType().Name);
        Check.Close(separate.ToArray(), observed.ToArray(), 1e-6f, 1e-5f, "y with a hook");
    }
}
