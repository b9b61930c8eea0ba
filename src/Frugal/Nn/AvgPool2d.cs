using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>Average pooling layer (no parameters); count_include_pad defaults to true as in PyTorch.</summary>
public sealed class AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool countIncludePad = true) : Module
{
    public int KernelSize { get; } = kernelSize;
    public int Stride { get; } = stride ?? kernelSize;
    public int Padding { get; } = padding;
    public bool CountIncludePad { get; } = countIncludePad;

    protected override Tensor Forward(Tensor x) => x.AvgPool2d(KernelSize, Stride, Padding, CountIncludePad);

    public override string ToString() => $"AvgPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding}, count_include_pad={CountIncludePad})";
}
