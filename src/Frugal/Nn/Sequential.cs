using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>Applies children in order; they are named "0", "1", … as in PyTorch.</summary>
public sealed class Sequential : Module
{
    readonly List<Module> _layers = [];

    public Sequential(params Module[] layers)
    {
        foreach (var l in layers) Append(l);
    }

    public Sequential Append(Module layer)
    {
        _layers.Add(Child(_layers.Count.ToString(), layer));
        return this;
    }

    public IReadOnlyList<Module> Layers => _layers;

    protected override void OnChildReplaced(string name, Module replacement) => _layers[int.Parse(name)] = replacement;
    public Module this[int i] => _layers[i];

    protected override Tensor Forward(Tensor x)
    {
        foreach (var l in _layers)
        {
            long t0 = Autograd.Profiler.Enabled && l is not Sequential ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            x = l.Call(x);
            if (t0 != 0) Autograd.Profiler.Add("forward " + l.GetType().Name, t0);
        }
        return x;
    }
}
