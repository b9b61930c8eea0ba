using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Methods.Robustness;

/// <summary>
/// Quantisation-aware training with learned steps (LSQ, Esser et al., ICLR 2020; ../shared/METHODS.md §5, which pairs it
/// with KURE): every conv/linear layer becomes a <see cref="QuantizedLayer"/> computing on fake-quantised weights
/// (signed) and inputs (unsigned where the first batch has no negative value), gradients straight through, and a step
/// per tensor learned with LSQ's scaled gradient. Steps start at LSQ's 2·mean|v|/√Q_P on the first training batch
/// (after a resume too, from the resumed weights). They are the method's own tensors, outside the state dict (so
/// model.safetensors stays the float model) and outside the run's optimizer: the method updates them by SGD at the
/// start of the next step. Under data parallelism each rank would learn its own steps: run it in one process.
/// Attach it after KURE, which then regularises the same weight tensors.
/// </summary>
public sealed class QuantizationAwareTraining : ITrainingMethod
{
    readonly QatOptions _options;
    List<(string Name, QuantizedLayer Layer)> _layers = [];
    readonly List<Tensor> _steps = [];
    Sgd? _stepOptimizer;
    bool _weightsInitialised;

    public QuantizationAwareTraining(QatOptions options) => _options = options.Validate();

    /// <summary>The quantised layers (after <see cref="Attach"/>).</summary>
    public IReadOnlyList<(string Name, QuantizedLayer Layer)> Layers => _layers;

    public void Attach(Module model)
    {
        if (_layers.Count > 0) throw new InvalidOperationException("qat: already attached to a model");
        var names = ComputeLayers.All(model).Select(l => l.Name).ToList();
        if (names.Count == 0) throw new ArgumentException("qat: the model has no conv/linear layer");
        _layers = QuantizedLayer.Wrap(model, names);
        for (int i = 0; i < _layers.Count; i++)
        {
            var q = _layers[i].Layer;
            bool edge = i == 0 || i == _layers.Count - 1;
            int Bits(int b) => edge ? Math.Max(b, _options.EdgeBits) : b;
            var wGrid = UniformQuantizer.Create(Bits(_options.Bits), signed: true);
            q.WeightQuantizer = new TensorQuantizer(wGrid, NewStep(q.Weight.Device), LsqFakeQuantize.GradScale(q.Weight.Numel, wGrid));
            if (_options.InputBits is { } ab) InitialiseInputOnFirstCall(q, Bits(ab));
        }
        _stepOptimizer = new Sgd(_steps, _options.StepLr, momentum: 0.9);
    }

    Tensor NewStep(Device device)
    {
        var s = Tensor.Scalar(1, device);
        s.RequiresGrad = true;
        _steps.Add(s);
        return s;
    }

    /// <summary>The input's grid (signed or not) and LSQ's initial step come from the first batch the layer sees.</summary>
    void InitialiseInputOnFirstCall(QuantizedLayer q, int bits)
    {
        var step = NewStep(q.Weight.Device);
        q.InputObserver = x =>
        {
            var a = x.ToArray();
            var grid = UniformQuantizer.Create(bits, signed: a.Min() < 0);
            SetStep(step, LsqInitialStep(a, grid));
            q.InputQuantizer = new TensorQuantizer(grid, step, LsqFakeQuantize.GradScale(x.Numel / Math.Max(1, x.Shape[0]), grid));
            q.InputObserver = null;
        };
    }

    /// <summary>LSQ's initial step 2·mean|v|/√Q_P.</summary>
    public static float LsqInitialStep(ReadOnlySpan<float> v, UniformQuantizer grid)
    {
        double s = 0;
        foreach (var x in v) s += Math.Abs(x);
        double step = 2 * s / Math.Max(1, v.Length) / Math.Sqrt(grid.Qp);
        return step > 0 ? (float)step : 1e-3f;
    }

    static void SetStep(Tensor step, float value) => step.Backend.Upload([value], step.Storage, step.Offset);

    public void OnStep(int epoch, int batch, int batchesPerEpoch)
    {
        if (!_weightsInitialised)
        {
            foreach (var (_, q) in _layers) SetStep(q.WeightQuantizer!.Step, LsqInitialStep(q.Weight.ToArray(), q.WeightQuantizer.Grid));
            _weightsInitialised = true;
        }
        if (!_steps.Any(s => s.Grad != null)) return;
        using (GradMode.NoGrad()) _stepOptimizer!.Step();
        _stepOptimizer.ZeroGrad();
        // A step must stay positive for the grid to exist.
        foreach (var s in _steps)
            if (!(s.Item() > 1e-8f)) SetStep(s, 1e-8f);
    }

    public void CollectEpochFigures(IDictionary<string, object> figures) =>
        figures["qat_steps"] = _layers.ToDictionary(l => l.Name, l => (object)new Dictionary<string, object?>
        {
            ["weight_bits"] = l.Layer.WeightQuantizer!.Grid.Bits,
            ["weight_step"] = (double)l.Layer.WeightQuantizer.Step.Item(),
            ["input_bits"] = l.Layer.InputQuantizer?.Grid.Bits,
            ["input_step"] = l.Layer.InputQuantizer is { } iq ? (double)iq.Step.Item() : null,
        });
}
