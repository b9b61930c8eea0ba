using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

// Activation layers without parameters, named as in torch.nn.

public sealed class LeakyReLU(float negativeSlope = 0.01f) : Module
{
    public float NegativeSlope { get; } = negativeSlope;
    protected override Tensor Forward(Tensor x) => x.LeakyRelu(NegativeSlope);
    public override string ToString() => $"LeakyReLU(negative_slope={NegativeSlope})";
}

/// <summary>Exact GELU x·Φ(x).</summary>
public sealed class GELU : Module
{
    protected override Tensor Forward(Tensor x) => x.Gelu();
}

public sealed class Tanh : Module
{
    protected override Tensor Forward(Tensor x) => x.Tanh();
}

public sealed class Sigmoid : Module
{
    protected override Tensor Forward(Tensor x) => x.Sigmoid();
}

/// <summary>Softmax along <c>Dim</c> (PyTorch's nn.Softmax(dim)).</summary>
public sealed class Softmax(int dim) : Module
{
    public int Dim { get; } = dim;
    protected override Tensor Forward(Tensor x) => x.Softmax(Dim);
    public override string ToString() => $"Softmax(dim={Dim})";
}

/// <summary>Log-softmax along <c>Dim</c> (PyTorch's nn.LogSoftmax(dim)).</summary>
public sealed class LogSoftmax(int dim) : Module
{
    public int Dim { get; } = dim;
    protected override Tensor Forward(Tensor x) => x.LogSoftmax(Dim);
    public override string ToString() => $"LogSoftmax(dim={Dim})";
}
