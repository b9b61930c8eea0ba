using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Robustness;

/// <summary>One fake-quantised tensor of a <see cref="QuantizedLayer"/>: its grid and its step (a scalar tensor; it
/// learns when it requires grad, LSQ), with LSQ's gradient scale.</summary>
public sealed class TensorQuantizer(UniformQuantizer grid, Tensor step, float gradScale = 1)
{
    public UniformQuantizer Grid { get; } = grid;
    public Tensor Step { get; } = step;
    public float GradScale { get; set; } = gradScale;

    public Tensor Apply(Tensor x) => LsqFakeQuantize.Apply(x, Step, Grid, GradScale);
}

/// <summary>
/// A Conv2d or Linear computed on fake-quantised weights and inputs (../shared/METHODS.md §5): y = layer(Q_A(x), Q_W(W)).
/// It registers the exact layer's own weight and bias tensors, so state-dict keys and optimizer parameters stay those of
/// the exact layer; a null quantizer leaves that operand in float. An optional observer sees every input in float
/// (activation calibration). Quantises in training and evaluation alike.
/// </summary>
public sealed class QuantizedLayer : Module
{
    readonly Module _exact;
    public Tensor Weight { get; private set; }
    public Tensor? Bias { get; private set; }
    public TensorQuantizer? WeightQuantizer { get; set; }
    public TensorQuantizer? InputQuantizer { get; set; }
    /// <summary>Sees each float input before it is quantised.</summary>
    public Action<Tensor>? InputObserver { get; set; }

    public QuantizedLayer(Module exact)
    {
        (Weight, Bias) = exact switch
        {
            Conv2d c => (c.Weight, c.Bias),
            Linear l => (l.Weight, l.Bias),
            _ => throw new ArgumentException($"quantized layer: {exact} is neither Conv2d nor Linear (quantisation does not combine with layers swapped by another method)"),
        };
        _exact = exact;
        Parameter("weight", Weight);
        if (Bias != null) Parameter("bias", Bias);
    }

    /// <summary>The layer replaced.</summary>
    public Module Exact => _exact;

    protected override Tensor Forward(Tensor x)
    {
        InputObserver?.Invoke(x);
        if (InputQuantizer != null) x = InputQuantizer.Apply(x);
        var w = WeightQuantizer?.Apply(Weight) ?? Weight;
        return _exact switch
        {
            Conv2d c => x.Conv2d(w, Bias, c.Stride, c.Padding, c.Groups, c.Dilation),
            Linear l => x.Rank == 2 && x.Shape[1] == l.InFeatures ? x.Linear(w, Bias)
                : throw new ArgumentException($"Linear({l.InFeatures}, {l.OutFeatures}): input has shape {x.Shape}, expected [N, {l.InFeatures}]"),
            _ => throw new InvalidOperationException(),
        };
    }

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "weight") Weight = moved; else Bias = moved;
    }

    /// <summary>Swaps every named conv/linear layer of <paramref name="model"/> for a QuantizedLayer (no quantizer yet),
    /// returning them by name in forward order.</summary>
    public static List<(string Name, QuantizedLayer Layer)> Wrap(Module model, IEnumerable<string> names)
    {
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var wrapped = new List<(string, QuantizedLayer)>();
        foreach (var name in names)
        {
            var q = new QuantizedLayer(modules[name]);
            int dot = name.LastIndexOf('.');
            var parent = dot < 0 ? model : modules[name[..dot]];
            parent.ReplaceChild(dot < 0 ? name : name[(dot + 1)..], q);
            wrapped.Add((name, q));
        }
        return wrapped;
    }
}
