using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>PyTorch's default initialisations, drawn from a seeded generator.</summary>
public static class Init
{
    /// <summary>kaiming_uniform_(a=√5) as in torch.nn.Linear/Conv2d.reset_parameters: U(−b, b) with b = 1/√fan_in.</summary>
    public static Tensor KaimingUniformDefault(Shape shape, int fanIn, Generator? g = null)
    {
        float bound = fanIn > 0 ? 1f / MathF.Sqrt(fanIn) : 0;
        return Tensor.Uniform(shape, -bound, bound, g);
    }

    /// <summary>Bias init of Linear/Conv2d: U(−1/√fan_in, 1/√fan_in).</summary>
    public static Tensor BiasDefault(int outFeatures, int fanIn, Generator? g = null) =>
        KaimingUniformDefault(new Shape(outFeatures), fanIn, g);
}
