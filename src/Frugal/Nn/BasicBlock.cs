using Frugal.Tensors;
using Frugal.Ops;

namespace Frugal.Nn;

/// <summary>
/// The residual block of ResNet-18/34 (He et al., 2016): conv3x3-BN-ReLU-conv3x3-BN, plus the input
/// (through a 1x1 conv + BN when the shape changes), then ReLU. Names follow torchvision
/// (conv1, bn1, conv2, bn2, downsample.0, downsample.1).
/// </summary>
public sealed class BasicBlock : Module
{
    Module _conv1, _conv2;
    readonly Module _bn1, _bn2;
    readonly Module? _downsample;

    public BasicBlock(int inChannels, int outChannels, int stride = 1, Generator? generator = null)
    {
        _conv1 = Child("conv1", new Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false, generator: generator));
        _bn1 = Child("bn1", new BatchNorm2d(outChannels));
        _conv2 = Child("conv2", new Conv2d(outChannels, outChannels, 3, stride: 1, padding: 1, bias: false, generator: generator));
        _bn2 = Child("bn2", new BatchNorm2d(outChannels));
        if (stride != 1 || inChannels != outChannels)
            _downsample = Child("downsample", new Sequential(
                new Conv2d(inChannels, outChannels, 1, stride: stride, bias: false, generator: generator),
                new BatchNorm2d(outChannels)));
    }

    protected override Tensor Forward(Tensor x)
    {
        var h = _bn1.Call(_conv1.Call(x)).Relu();
        h = _bn2.Call(_conv2.Call(h));
        var skip = _downsample?.Call(x) ?? x;
        return (h + skip).Relu();
    }

    protected override void OnChildReplaced(string name, Module replacement)
    {
        if (name == "conv1") _conv1 = replacement;
        else if (name == "conv2") _conv2 = replacement;
        else throw new ArgumentException($"BasicBlock: replacing child '{name}' is not supported (conv1, conv2 are)");
    }
}
