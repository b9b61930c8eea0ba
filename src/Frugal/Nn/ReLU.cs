using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

public sealed class ReLU : Module
{
    protected override Tensor Forward(Tensor x) => x.Relu();
}
