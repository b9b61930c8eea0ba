using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.OutputHeads;

/// <summary>
/// How much gradient signal reaches the lower layers (../shared/METHODS.md §4.2: the claim about output heads is that
/// an exponentiated error back-propagates more of it): the L2 norm of the first and the last weight's gradient
/// (parameters of rank ≥ 2, in registration order), at every optimisation step. Per epoch it reports the means,
/// first_layer_grad_norm and last_layer_grad_norm, and their ratio grad_norm_ratio (first/last).
/// It measures the gradient the optimizer used: a post-accumulate hook marks each step's gradient, and it is read
/// at the next step (or the epoch's end), after any gradient reduction and clipping have changed it in place.
/// Changes nothing in training.
/// </summary>
public sealed class GradientSignal : ITrainingMethod
{
    readonly Probe[] _probes = [new(), new()];

    /// <summary>State-dict names of the first and last weights (after <see cref="Attach"/>).</summary>
    public (string First, string Last) Layers { get; private set; }

    public void Attach(Module model)
    {
        if (Layers.First != null) throw new InvalidOperationException("gradient signal: already attached to a model");
        var weights = model.NamedParameters().Where(p => p.Parameter.Rank >= 2 && p.Parameter.RequiresGrad).ToList();
        if (weights.Count == 0) throw new ArgumentException("gradient signal: the model has no weight (parameter of rank ≥ 2) that requires grad");
        _probes[0].Attach(weights[0].Parameter);
        _probes[1].Attach(weights[^1].Parameter);
        Layers = (weights[0].Name, weights[^1].Name);
    }

    public void OnStep(int epoch, int batch, int batchesPerEpoch)
    {
        foreach (var p in _probes) p.Commit();
    }

    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        foreach (var p in _probes) p.Commit();
        if (_probes[0].Steps == 0) return;
        double first = _probes[0].Mean, last = _probes[1].Mean;
        figures["first_layer_grad_norm"] = first;
        figures["last_layer_grad_norm"] = last;
        figures["grad_norm_ratio"] = last > 0 ? first / last : double.NaN;
        foreach (var p in _probes) p.Reset();
    }

    /// <summary>One weight's gradient norms: the gradient marked by the hook is measured once, at the next commit.</summary>
    sealed class Probe
    {
        Tensor _weight = null!;
        Tensor? _pending;
        double _sum;
        public int Steps { get; private set; }
        public double Mean => Steps > 0 ? _sum / Steps : double.NaN;

        public void Attach(Tensor weight)
        {
            _weight = weight;
            weight.RegisterPostAccumulateGradHook(w => _pending = w.Grad);
        }

        /// <summary>The weight's gradient if the optimizer has not cleared it yet (it holds what reduction and clipping
        /// made of it), else the one the hook saw last.</summary>
        public void Commit()
        {
            if (_pending == null) return;
            var g = _weight.Grad ?? _pending;
            _pending = null;
            var squared = Tensor.Zeros(new Shape(1), g.Device);
            g.Backend.SquaredNorm(g, squared, 0);
            _sum += Math.Sqrt(squared.Item());
            Steps++;
        }

        public void Reset() { _sum = 0; Steps = 0; }
    }
}
