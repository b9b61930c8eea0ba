using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Robustness;

/// <summary>
/// KURE, the kurtosis regulariser (Shkolnik, Chmiel, Banner et al., NeurIPS 2020, arXiv 2002.07686, eq. 3;
/// ../shared/METHODS.md §5): adds λ·R, R = (1/L)·Σᵢ (Kurt[Wᵢ] − K_T)², to every micro-batch's loss, recomputed from the
/// live weights so its gradient reaches them. Pulling the weights towards a uniform distribution (K_T = 1.8) makes a
/// model less sensitive to the quantiser's step. L is the number of regularised tensors (the reference divides by
/// hard-coded counts). Per epoch it reports the mean R of its steps (kure_penalty, without λ) and each layer's
/// kurtosis at the end of the epoch (kure_layers).
/// </summary>
public sealed class KurtosisRegularization : ITrainingMethod
{
    readonly KureOptions _options;
    List<(string Name, Module Layer, Tensor Weight)> _layers = [];
    double _penaltySum;
    int _penalties;

    public KurtosisRegularization(KureOptions options) => _options = options.Validate();

    public KureOptions Options => _options;

    /// <summary>The regularised layers and their weight tensors (after <see cref="Attach"/>).</summary>
    public IReadOnlyList<(string Name, Module Layer, Tensor Weight)> Layers => _layers;

    public void Attach(Module model)
    {
        if (_layers.Count > 0) throw new InvalidOperationException("kure: already attached to a model");
        _layers = WeightLayers.Select(model, _options.Layers, _options.ConvOnly);
        if (_layers.Count == 0)
            throw new Options.OptionException("layers", $"selects no layer of this model{(_options.Layers == null ? " (it has one conv/linear layer, and the first is left out; give layers: all)" : "")}");
    }

    /// <summary>R = (1/L)·Σᵢ (Kurt[Wᵢ] − K_T)² as a scalar tensor, differentiable in the weights.</summary>
    public Tensor Regularizer()
    {
        Tensor? sum = null;
        foreach (var (_, _, w) in _layers)
        {
            var dev = Kurtosis.Of(w, _options.Std).Add((float)-_options.KurtosisTarget).Square();
            sum = sum == null ? dev : sum.Add(dev);
        }
        return sum!.Mul(1f / _layers.Count);
    }

    /// <summary>λ·R; its value joins the epoch's kure_penalty.</summary>
    public Tensor? Penalty()
    {
        var r = Regularizer();
        _penaltySum += r.Item();
        _penalties++;
        return r.Mul((float)_options.Lambda);
    }

    /// <summary>Each regularised layer's kurtosis now, by name.</summary>
    public Dictionary<string, double> LayerKurtosis()
    {
        using var _ = GradMode.NoGrad();
        return _layers.ToDictionary(l => l.Name, l => Kurtosis.Of(l.Weight.ToArray(), _options.Std));
    }

    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        if (_penalties > 0) figures["kure_penalty"] = _penaltySum / _penalties;
        figures["kure_layers"] = LayerKurtosis().ToDictionary(p => p.Key, p => (object)p.Value);
        _penaltySum = 0; _penalties = 0;
    }
}
