using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// The earlier stages of a layer-wise run, run in eval mode without a graph in front of the stage being trained.
/// The prefix is held, not registered as a child, so its parameters are neither trained nor in the piece's state dict,
/// and the trainer's train/eval switches do not reach its BatchNorm statistics. Null: the identity (inputs already
/// are the prefix's outputs, from an <see cref="ActivationCache"/>).
/// </summary>
public sealed class FrozenPrefix : Module
{
    readonly Module? _prefix;

    public FrozenPrefix(Module? prefix)
    {
        _prefix = prefix;
        _prefix?.Eval();
    }

    protected override Tensor Forward(Tensor x)
    {
        if (_prefix == null) return x;
        using var _ = GradMode.NoGrad();
        return _prefix.Call(x);
    }
}
