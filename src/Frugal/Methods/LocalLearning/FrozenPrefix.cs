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
        // Without a graph every intermediate output is garbage as soon as the next layer has read it, but the buffer pool
        // only sees that after a collection: one after each layer lets the next layers, and then the stage's own
        // tensors, reuse those buffers instead of the prefix holding all of them until the step ends.
        using var _ = GradMode.NoGrad();
        foreach (var layer in _prefix is Sequential s ? s.Layers : [_prefix])
        {
            x = layer.Call(x);
            Backends.Cpu.BufferPool.Recycle();
        }
        return x;
    }
}
