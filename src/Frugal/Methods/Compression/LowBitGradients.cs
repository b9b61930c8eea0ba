using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Compression;

/// <summary>
/// Low-bit floating-point neural gradients (Chmiel et al., ICLR 2021, §5; METHODS.md §1): the gradient w.r.t.
/// every conv/linear output except the classifier's is rounded to an [1, E, M] format after scaling by
/// 2^(c − μ̄₂), then scaled back, before the layer's backward GEMMs use it.
/// Schedule: the first step of every epoch runs in FP32 and measures μ̄₂, σ₂ of log2|g| per layer (the
/// reference code spends all of epoch 0 in FP32 for this; one step suffices to fit two moments); the
/// format (for fpN, the exponent bits) and the scale then stay fixed for the epoch.
/// The centre is the paper's c = −3. For fpN the exponent bits are those that minimise the relative error
/// ‖Q(g)−g‖²/‖g‖² measured on the measuring step's gradient, E = 1..N−2. The lognormal error model's choice
/// (<see cref="FormatError.BestExponentBits"/> at centre −3) is reported beside it as "e_model" but not used:
/// on the cnn's gradients (σ₂ ≈ 2.5–3) it asks for range the tensors do not use, e.g. e6m1 for fp8, whose
/// measured error was 12× that of e4m3 (0.0087 vs 0.0007; bench/experiments/grad_format.sh). Each format's own
/// optimal centre (<see cref="FormatError.BestCentre"/>, which reproduces the reference table best) was
/// tried first and rejected: for σ₂ ≈ 3 it shifts the scale ~18 binades down to serve a lognormal tail
/// that a finite tensor does not have, flushing most entries to zero (measured relative error 0.54–0.90
/// on the cnn's layers vs 0.02 at −3; LowBitGradientsTrainingTests).
/// </summary>
public sealed class LowBitGradients : ITrainingMethod
{
    /// <summary>Measure the quantisation error on the first quantised step of an epoch and every this-many steps after (it costs three extra passes).</summary>
    const int ErrorSampleEvery = 8;

    readonly GradientFormatSpec _spec;
    readonly Rounding _rounding;
    readonly bool _globalScale;
    readonly ulong _seed;
    readonly List<Layer> _layers = [];
    bool _measuring;
    long _step;

    sealed class Layer(string name)
    {
        public readonly string Name = name;
        public Log2Stats Stats;
        public float[]? Sample;      // the measuring step's gradient, kept until the formats are chosen
        public int ModelExponentBits;
        public FloatFormat? Format;
        public float Scale = 1;
        public double ErrorSum;
        public int ErrorCount;
    }

    /// <param name="options">Format, rounding and scale.</param>
    /// <param name="seed">Seeds stochastic rounding (mixed with step and layer).</param>
    public LowBitGradients(LowBitGradientsOptions options, ulong seed = 0)
    {
        _spec = options.Validate().Spec;
        _rounding = options.Rounding;
        _globalScale = options.Scale == LowBitScale.Global;
        _seed = seed;
    }

    public void Attach(Module model)
    {
        foreach (var (name, module) in ComputeLayers.AllButClassifier(model))
        {
            var layer = new Layer(name);
            int index = _layers.Count;
            _layers.Add(layer);
            module.RegisterForwardHook((m, y) =>
            {
                if (m.Training && y.RequiresGrad) y.RegisterHook(g => OnGradient(layer, index, g));
                return y;
            });
        }
    }

    public void OnStep(int epoch, int batch, int batchesPerEpoch)
    {
        _step = (long)(epoch - 1) * batchesPerEpoch + batch;
        bool wasMeasuring = _measuring;
        _measuring = batch == 0;
        if (wasMeasuring && !_measuring) ChooseFormats();
    }

    Tensor OnGradient(Layer layer, int index, Tensor g)
    {
        if (_measuring || layer.Format == null)
        {
            // One copy to the host serves the moments and, for fpN, the format choice.
            var values = g.ToArray();
            layer.Stats = GradientScale.Measure(values);
            if (_spec.IsPerLayer) layer.Sample = values;
            return g;
        }
        ulong seed = _seed ^ ((ulong)_step * 0x9E3779B97F4A7C15UL) ^ ((ulong)index << 48);
        var q = g.QuantizeFloat(layer.Format, _rounding, layer.Scale, seed);
        if (layer.ErrorCount == 0 || _step % ErrorSampleEvery == 0)
        {
            layer.ErrorSum += QuantizationError.Relative(g, q);
            layer.ErrorCount++;
        }
        return q;
    }

    /// <summary>Fixes each layer's format and scale from the statistics of the measuring step.</summary>
    void ChooseFormats()
    {
        var fitted = _layers.Where(l => l.Stats.NonZero > 1 && double.IsFinite(l.Stats.Std)).ToList();
        // The global variant pools the layers' log2 moments (weighted by their non-zero counts) into one scale.
        double globalMean = 0, globalVar = 0;
        long n = fitted.Sum(l => l.Stats.NonZero);
        if (n > 0)
        {
            globalMean = fitted.Sum(l => l.Stats.Mean * l.Stats.NonZero) / n;
            globalVar = fitted.Sum(l => (l.Stats.Std * l.Stats.Std + Math.Pow(l.Stats.Mean - globalMean, 2)) * l.Stats.NonZero) / n;
        }
        foreach (var l in fitted)
        {
            double mean = _globalScale ? globalMean : l.Stats.Mean, sigma = _globalScale ? Math.Sqrt(globalVar) : l.Stats.Std;
            // A pruned gradient can leave a layer with one magnitude only (every survivor at ±α): σ₂ = 0.
            sigma = Math.Max(sigma, 1e-3);
            l.Scale = GradientScale.Factor(mean);
            l.ModelExponentBits = _spec.IsPerLayer ? FormatError.BestExponentBits(_spec.Bits, sigma, _spec.Specials, FormatError.CentredMean) : 0;
            l.Format = _spec.Fixed ?? LeastErrorFormat(l.Sample!, l.Scale);
            l.Sample = null;
        }
    }

    /// <summary>The N-bit format with the least measured relative error on <paramref name="sample"/> at this scale.</summary>
    FloatFormat LeastErrorFormat(float[] sample, float scale)
    {
        var g = Tensor.FromArray(sample, new Shape(sample.Length));
        FloatFormat? best = null;
        double bestError = double.PositiveInfinity;
        for (int e = 1; e <= _spec.Bits - 2; e++)
        {
            var format = new FloatFormat(e, _spec.Bits - 1 - e, _spec.Specials);
            double err = QuantizationError.Relative(g, g.QuantizeFloat(format, Rounding.NearestEven, scale));
            if (err < bestError) { bestError = err; best = format; }
        }
        return best!;
    }

    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        var layers = new Dictionary<string, object>();
        double errSum = 0; int errCount = 0;
        foreach (var l in _layers)
        {
            if (l.Format == null) continue;
            var figs = new Dictionary<string, object>
            {
                ["format"] = l.Format.ToString(), ["e"] = l.Format.ExponentBits, ["m"] = l.Format.MantissaBits,
                ["mu2"] = l.Stats.Mean, ["sigma2"] = l.Stats.Std, ["scale_log2"] = Math.Log2(l.Scale),
            };
            if (_spec.IsPerLayer) figs["e_model"] = l.ModelExponentBits;
            if (l.ErrorCount > 0)
            {
                double err = l.ErrorSum / l.ErrorCount;
                figs["rel_error"] = err;
                errSum += err; errCount++;
            }
            layers[l.Name] = figs;
            l.ErrorSum = 0; l.ErrorCount = 0;
        }
        if (errCount > 0) figures["grad_quant_rel_error"] = errSum / errCount;
        figures["grad_format"] = _spec.ToString();
        figures["grad_format_layers"] = layers;
    }
}
