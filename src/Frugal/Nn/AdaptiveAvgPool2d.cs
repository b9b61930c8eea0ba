using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>Adaptive average pooling to a fixed output grid (e.g. 1×1 global pooling before a classifier).</summary>
public sealed class AdaptiveAvgPool2d(int outputH, int outputW) : Module
{
    public AdaptiveAvgPool2d(int outputSize) : this(outputSize, outputSize) { }

    public (int H, int W) OutputSize { get; } = (outputH, outputW);

    protected override Tensor Forward(Tensor x) => x.AdaptiveAvgPool2d(OutputSize.H, OutputSize.W);

    public override string ToString() => $"AdaptiveAvgPool2d(output_size={OutputSize})";
}
