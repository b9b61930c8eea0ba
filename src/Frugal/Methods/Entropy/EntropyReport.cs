using Frugal.Methods.Robustness;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.Entropy;

/// <summary>
/// How compressible a model's weights and updates are as it trains (../shared/METHODS.md §4.1, Øland &amp; Raj, ICASSP
/// 2015: weight entropy falls, so communication compresses; a PROPOSAL). Per conv/linear layer and epoch it reports the
/// bits per weight of three quantities, each quantised with a fixed step and with the RMS-relative step 3·RMS/2^(b−1),
/// as the empirical entropy H(q) and as rANS-coded bits (<see cref="Rans"/>, table included):
/// <list type="bullet">
/// <item><c>weights_*</c>: the weights W at the end of the epoch;</item>
/// <item><c>update_*</c>: one-step updates W_{t+1} − W_t, the mean over <see cref="EntropyReportOptions.UpdateSamples"/>
/// evenly spaced steps of the epoch (what a per-step exchange would send);</item>
/// <item><c>epoch_update_*</c>: the whole epoch's update, W at its end − W at its start.</item>
/// </list>
/// The fixed update step is 3·RMS_max/2^(b−1), RMS_max the largest RMS of the layer's one-step updates measured so
/// far (fixed once they stop growing; momentum makes the first ones small), unless
/// <see cref="EntropyReportOptions.UpdateStep"/> gives one: the exchange's adaptive bits pick about that step too.
/// Figures: entropy_report.NAME.KEY per layer (with numel and update_step, the fixed update step used) and
/// entropy_report.all.KEY, the means weighted by the layers' sizes. It only reads the weights: training is unchanged.
/// </summary>
public sealed class EntropyReport : ITrainingMethod
{
    sealed class Layer(string name, Tensor weight)
    {
        public readonly string Name = name;
        public readonly Tensor Weight = weight;
        public float[]? EpochStart, StepStart;
        public double? UpdateStep;
        public readonly double[] Updates = new double[4];
        public int UpdateCount;
    }

    readonly EntropyReportOptions _options;
    List<Layer> _layers = [];
    int _stride = 1, _sampled;
    bool _pending;

    public EntropyReport(EntropyReportOptions options) => _options = options.Validate();

    public EntropyReportOptions Options => _options;

    /// <summary>The reported layers' names (after <see cref="Attach"/>).</summary>
    public IReadOnlyList<string> LayerNames => _layers.Select(l => l.Name).ToArray();

    public void Attach(Module model)
    {
        if (_layers.Count > 0) throw new InvalidOperationException("entropy_report: already attached to a model");
        _layers = WeightLayers.Select(model, _options.Layers ?? "all").Select(l => new Layer(l.Name, l.Weight)).ToList();
        if (_layers.Count == 0) throw new Options.OptionException("layers", "selects no layer: the model has no conv/linear layer");
    }

    /// <summary>Closes the previous step's update if it was sampled; at an epoch's first step keeps its weights; keeps
    /// this step's starting weights if it is sampled.</summary>
    public void OnStep(int epoch, int batch, int batchesPerEpoch)
    {
        FinishStep();
        if (batch == 0)
        {
            foreach (var l in _layers) l.EpochStart = l.Weight.ToArray();
            _stride = Math.Max(1, batchesPerEpoch / _options.UpdateSamples);
            _sampled = 0;
        }
        if (batch % _stride != 0 || _sampled >= _options.UpdateSamples) return;
        foreach (var l in _layers) l.StepStart = l.Weight.ToArray();
        _sampled++;
        _pending = true;
    }

    void FinishStep()
    {
        if (!_pending) return;
        _pending = false;
        foreach (var l in _layers)
        {
            var update = Difference(l.Weight.ToArray(), l.StepStart!);
            l.UpdateStep = _options.UpdateStep ?? Math.Max(l.UpdateStep ?? 0, RmsStep(update));
            var (f, r) = Measure(update, l.UpdateStep > 0 ? l.UpdateStep.Value : _options.WeightStep);
            l.Updates[0] += f.EntropyBits; l.Updates[1] += f.CodedBits; l.Updates[2] += r.EntropyBits; l.Updates[3] += r.CodedBits;
            l.UpdateCount++;
        }
    }

    /// <summary>3·RMS/2^(b−1) of an update (0 if it is not finite).</summary>
    double RmsStep(float[] update)
    {
        double s = SymbolQuantizer.RmsStep(SymbolQuantizer.Rms(update), _options.Bits);
        return double.IsFinite(s) ? s : 0;
    }

    (SymbolBits Fixed, SymbolBits Rms) Measure(float[] x, double fixedStep) =>
        (QuantizedEntropy.Fixed(x, fixedStep), QuantizedEntropy.RmsRelative(x, _options.Bits));

    static float[] Difference(float[] now, float[] before)
    {
        System.Numerics.Tensors.TensorPrimitives.Subtract(now, before, now);
        return now;
    }

    /// <summary>entropy_report: per layer and all layers (size-weighted), the bits of the weights, the mean one-step
    /// update and the epoch's update; then starts the next epoch afresh.</summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        FinishStep();
        var report = new Dictionary<string, object>();
        var sums = new Dictionary<string, double>();
        long total = 0;
        foreach (var l in _layers)
        {
            var w = l.Weight.ToArray();
            var entry = new Dictionary<string, object> { ["numel"] = w.Length };
            var (wf, wr) = Measure(w, _options.WeightStep);
            Add(entry, "weights", wf, wr);
            if (l.UpdateCount > 0)
            {
                int n = l.UpdateCount;
                Add(entry, "update", new SymbolBits(l.Updates[0] / n, l.Updates[1] / n), new SymbolBits(l.Updates[2] / n, l.Updates[3] / n));
                entry["update_step"] = l.UpdateStep!.Value;
            }
            if (l.EpochStart != null)
            {
                var (ef, er) = Measure(Difference(l.Weight.ToArray(), l.EpochStart), l.UpdateStep is > 0 ? l.UpdateStep.Value : _options.WeightStep);
                Add(entry, "epoch_update", ef, er);
            }
            foreach (var (k, v) in entry)
                if (k.EndsWith("_bits", StringComparison.Ordinal)) sums[k] = sums.GetValueOrDefault(k) + (double)v * w.Length;
            total += w.Length;
            report[l.Name] = entry;
            l.EpochStart = l.StepStart = null;
            Array.Clear(l.Updates);
            l.UpdateCount = 0;
        }
        report["all"] = sums.ToDictionary(p => p.Key, p => (object)Math.Round(p.Value / total, 4));
        figures["entropy_report"] = report;
    }

    static void Add(Dictionary<string, object> entry, string what, SymbolBits fixedStep, SymbolBits rms)
    {
        entry[$"{what}_fixed_bits"] = Math.Round(fixedStep.EntropyBits, 4);
        entry[$"{what}_fixed_coded_bits"] = Math.Round(fixedStep.CodedBits, 4);
        entry[$"{what}_rms_bits"] = Math.Round(rms.EntropyBits, 4);
        entry[$"{what}_rms_coded_bits"] = Math.Round(rms.CodedBits, 4);
    }
}
