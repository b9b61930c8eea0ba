using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>Max pooling layer (no parameters); stride defaults to the kernel size as in PyTorch.</summary>
public sealed class MaxPool2d(int kernelSize, int? stride = null, int padding = 0) : Module
{
    public int KernelSize { get; } = kernelSize;
    public int Stride { get; } = stride ?? kernelSize;
    public int Padding { get; } = padding;

    protected override Tensor Forward(Tensor x) => x.MaxPool2d(KernelSize, Stride, Padding);

    public override string ToString() => $"MaxPool2d(kernel_size={KernelSize}, stride={Stride}, padding={Padding})";
}
