using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Tests.Optim;

/// <summary>clip_grad_norm_: the total norm over all gradients, and PyTorch's scaling rule.</summary>
public class GradClipTests
{
    static Tensor WithGrad(Device d, float[] grad)
    {
        var p = Tensor.Zeros(new Shape(grad.Length), d);
        p.RequiresGrad = true;
        p.Grad = Tensor.FromArray(grad, new Shape(grad.Length), d);
        return p;
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Total_norm_is_over_all_gradients_and_scales_when_above_max(string device)
    {
        var d = Device.Parse(device);
        var a = WithGrad(d, [3, 4]); var b = WithGrad(d, [12]);
        var none = Tensor.Zeros(new Shape(2), d); none.RequiresGrad = true;
        double norm = GradClip.ClipGradNorm([a, none, b], 6.5);
        Assert.Equal(13, norm, 1e-5);
        double c = 6.5 / (13 + 1e-6);
        Check.Close([(float)(3 * c), (float)(4 * c)], a.Grad!.ToArray(), 1e-6f, 1e-6f);
        Check.Close([(float)(12 * c)], b.Grad!.ToArray(), 1e-6f, 1e-6f);
        Assert.Null(none.Grad);
        Assert.Equal(6.5, GradClip.ClipGradNorm([a, b], 100), 1e-5);      // the clipped norm, reported and left alone
        Check.Close([(float)(3 * c), (float)(4 * c)], a.Grad!.ToArray(), 0, 0);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Below_max_leaves_gradients_unchanged(string device)
    {
        var d = Device.Parse(device);
        var a = WithGrad(d, [0.3f, -0.4f]);
        Assert.Equal(0.5, GradClip.ClipGradNorm([a], 0.5), 1e-6);   // coef = 0.5/(0.5 + 1e-6) < 1: scaled by 1 − 2e-6
        Assert.Equal(0.5, GradClip.ClipGradNorm([a], 1.0), 1e-5);
        Check.Close([0.3f, -0.4f], a.Grad!.ToArray(), 1e-6f, 1e-5f);
        Assert.Equal(0, GradClip.ClipGradNorm([Tensor.Zeros(3)], 1.0));
    }

    [Fact]
    public void Large_gradients_take_the_parallel_path_and_stay_accurate()
    {
        var g = new float[200_003];
        new Generator(3).FillNormal(g);
        double sq = 0;
        foreach (var v in g) sq += (double)v * v;
        var p = WithGrad(Device.Cpu, g);
        double norm = GradClip.ClipGradNorm([p], 1.0);
        Assert.Equal(Math.Sqrt(sq), norm, Math.Sqrt(sq) * 1e-6);
        double after = Math.Sqrt(p.Grad!.ToArray().Sum(v => (double)v * v));
        Assert.Equal(1.0, after, 1e-5);
    }

    [Fact]
    public void Non_finite_norm_and_bad_max_are_errors_when_asked()
    {
        var a = WithGrad(Device.Cpu, [1, float.NaN]);
        var e = Assert.Throws<InvalidOperationException>(() => GradClip.ClipGradNorm([a], 1, errorIfNonfinite: true));
        Assert.Contains("clip_grad_norm", e.Message); Assert.Contains("NaN", e.Message);
        Assert.True(double.IsNaN(GradClip.ClipGradNorm([a], 1)));
        var ae = Assert.Throws<ArgumentException>(() => GradClip.ClipGradNorm([a], -1));
        Assert.Contains("-1", ae.Message);
    }
}
