using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>Flattens axes [StartDim, EndDim] into one; the default keeps the batch axis (PyTorch's nn.Flatten).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    public int StartDim { get; } = startDim;
    public int EndDim { get; } = endDim;
    protected override Tensor Forward(Tensor x) => x.Flatten(StartDim, EndDim);
    public override string ToString() => $"Flatten(start_dim={StartDim}, end_dim={EndDim})";
}
