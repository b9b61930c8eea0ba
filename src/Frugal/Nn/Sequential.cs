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

    /// <summary>
    /// Runs the layers in order. A batch norm directly followed by a ReLU, neither with a forward hook, runs as one fused
    /// op (<see cref="Ops.Normalization.BatchNormRelu"/>): nothing can observe the pre-activation it skips, and the pair
    /// saves two full passes over the tensor (forward and backward). Any hook on either layer keeps them separate.
    /// </summary>
    protected override Tensor Forward(Tensor x)
    {
        for (int i = 0; i < _layers.Count; i++)
        {
            var l = _layers[i];
            long t0 = Autograd.Profiler.Enabled && l is not Sequential ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            if (l is BatchNorm bn && !bn.HasForwardHooks && i + 1 < _layers.Count && _layers[i + 1] is ReLU relu && !relu.HasForwardHooks)
            {
                x = bn.ForwardRelu(x);
                i++;
                if (t0 != 0) Autograd.Profiler.Add("forward BatchNorm+ReLU", t0);
                continue;
            }
            x = l.Call(x);
            if (t0 != 0) Autograd.Profiler.Add("forward " + l.GetType().Name, t0);
        }
        return x;
    }
}
