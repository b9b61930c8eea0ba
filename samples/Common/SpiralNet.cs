using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Samples;

/// <summary>A model of one's own: a small residual MLP for 2-D points. Children registered with <c>Child</c> get
/// PyTorch-style state-dict names ("input.weight", …), so checkpoints, methods and hooks find them.</summary>
public sealed class SpiralNet : Module
{
    readonly Linear _input, _hidden, _output;

    public SpiralNet(int hidden = 64, int classes = 3, ulong seed = 0)
    {
        var g = new Generator(seed);
        _input = Child("input", new Linear(2, hidden, generator: g));
        _hidden = Child("hidden", new Linear(hidden, hidden, generator: g));
        _output = Child("output", new Linear(hidden, classes, generator: g));
    }

    protected override Tensor Forward(Tensor x)
    {
        var h = _input.Call(x).Relu();
        h = h + _hidden.Call(h).Relu();
        return _output.Call(h);
    }
}
