using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class ActivationTests
{
    static readonly float[] Xs = [-30f, -2f, -0.5f, 0f, 0.25f, 1f, 3f, 30f];

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Forward_matches_reference_values(string device)
    {
        var d = Device.Parse(device);
        var x = Tensor.FromArray(Xs, new Shape(Xs.Length), d);
        Check.Close(Xs.Select(v => v > 0 ? v : 0.01f * v).ToArray(), x.LeakyRelu().ToArray(), what: "leaky_relu default");
        Check.Close(Xs.Select(v => v > 0 ? v : 0.2f * v).ToArray(), x.LeakyRelu(0.2f).ToArray(), what: "leaky_relu 0.2");
        Check.Close(Xs.Select(v => (float)Math.Tanh(v)).ToArray(), x.Tanh().ToArray(), 1e-6f, what: "tanh");
        Check.Close(Xs.Select(v => (float)(1 / (1 + Math.Exp(-v)))).ToArray(), x.Sigmoid().ToArray(), 1e-6f, what: "sigmoid");
        // Exact GELU x·Φ(x) at known points (PyTorch: gelu(1) = 0.8413447, gelu(-1) = -0.1586553, gelu(2) = 1.9544997).
        var g = Tensor.FromArray([-1f, 0f, 1f, 2f, -30f], new Shape(5), d).Gelu().ToArray();
        Check.Close([-0.15865526f, 0f, 0.84134475f, 1.9544997f, 0f], g, 1e-6f, what: "gelu");
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Gradients_of_activations(string device)
    {
        var d = Device.Parse(device);
        // Leaky ReLU has a kink at 0: keep the points away from it. 21 elements: a SIMD body and a tail.
        var xk = Check.AwayFromZero(d, 1, 0.1f, 3, 7);
        Check.Gradients(t => t[0].LeakyRelu(), xk);
        Check.Gradients(t => t[0].LeakyRelu(0.3f), xk);
        Check.Gradients(t => t[0].LeakyRelu(-0.5f), xk);
        var x = Check.Param(d, 2, 3, 7);
        Check.Gradients(t => t[0].Gelu(), x);
        Check.Gradients(t => t[0].Tanh(), x);
        Check.Gradients(t => t[0].Sigmoid(), x);
        Check.Gradients(t => t[0].Sigmoid(), Check.Param(d, 3, 1));
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Leaky_relu_gradient_at_zero_is_the_slope_as_in_pytorch(string device)
    {
        var x = Tensor.FromArray([0f, -1f, 1f], new Shape(3), Device.Parse(device));
        x.RequiresGrad = true;
        x.LeakyRelu(0.25f).Sum().Backward();
        Assert.Equal([0.25f, 0.25f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void Tanh_and_sigmoid_gradients_are_finite_at_saturation()
    {
        var x = Tensor.FromArray([-20f, 0f, 20f], 3);
        x.RequiresGrad = true;
        (x.Tanh() + x.Sigmoid()).Sum().Backward();
        Check.Close([2.06e-9f, 1.25f, 0f], x.Grad!.ToArray(), 1e-7f);
    }
}
