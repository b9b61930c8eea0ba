using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Column-row sampling in training (Adelman, Levy, Hakimi, Silberstein, NeurIPS 2021, arXiv 1805.08079; METHODS.md §2):
/// swaps the selected Linear/Conv2d layers for <see cref="ApproxLinear"/>/<see cref="ApproxConv2d"/> (same parameter
/// tensors, exact in evaluation) and reports per epoch the multiply-adds executed in all conv/linear products, forward
/// and backward, over the exact count (approx_flops_ratio), and each sampled layer's mean k. With layers = "auto" the
/// first training step runs exact and keeps each candidate's input; before the second, every candidate's exact and
/// sampled forward + backward are timed on it and <see cref="AutoKeep"/> picks the keeps (logged as approx_auto_keeps,
/// a layer spec that repeats the choice when passed as layers; a resumed run measures afresh).
/// </summary>
public sealed class CrsApproximation : ITrainingMethod
{
    readonly ApproxSettings _settings;
    readonly string? _layers;
    readonly ulong _seed;
    // One generator for every sampled layer, re-seeded from (seed, epoch, batch) at each step: sampling is a pure
    // function of the step, so runs repeat exactly, --resume needs no sampler state, and Generator.Default is untouched.
    readonly Generator _generator;
    readonly List<(string Name, Module Layer, ApproxLayerStats Stats)> _approx = [];
    // Multiply-adds of the conv/linear layers left exact (counted by forward hooks), so the ratio covers the whole model.
    readonly ApproxLayerStats _exact = new();
    readonly double _errorBudget, _minSaving;
    // layers = auto: the exact layer behind each candidate, until the keeps are chosen.
    readonly List<(string Name, Module Exact, Module Approx)> _pending = [];
    bool _reportCosts;

    /// <param name="settings">Sampler, default keep ratio (the lowest that layers = auto may pick), minimal k and mode.</param>
    /// <param name="layers">Layer spec of <see cref="ApproxLayerSelection.Select"/> (null = all but the first and the classifier).</param>
    /// <param name="seed">Seed of the sampling randomness (the run's --seed).</param>
    /// <param name="errorBudget">layers = auto: <see cref="ApproxOptions.ErrorBudget"/>.</param>
    /// <param name="minSaving">layers = auto: <see cref="ApproxOptions.MinSaving"/>.</param>
    public CrsApproximation(ApproxSettings settings, string? layers = null, ulong seed = 0, double errorBudget = 2, double minSaving = 0.03)
    {
        _settings = settings; _layers = layers; _seed = seed; _errorBudget = errorBudget; _minSaving = minSaving;
        _generator = new Generator(StepSeed(seed, 0, 0));
    }

    /// <summary>The method its options describe; <paramref name="seed"/> as in the constructor.</summary>
    public CrsApproximation(ApproxOptions options, ulong seed = 0)
        : this(options.Validate().Settings, options.Layers, seed, options.ErrorBudget, options.MinSaving) { }

    /// <summary>Tests: stands in for <see cref="LayerCostMeter.Measure"/> (layer name, exact layer, candidate keeps),
    /// so a choice can be checked without timing anything.</summary>
    internal Func<string, Module, IReadOnlyList<double>, LayerCost>? Meter { get; init; }

    /// <summary>layers = auto: what each candidate measured, in model order (null until chosen).</summary>
    public IReadOnlyList<LayerCost>? AutoCosts { get; private set; }

    /// <summary>layers = auto: the chosen keeps as a layer spec (null until chosen).</summary>
    public string? AutoKeeps { get; private set; }

    public void OnStep(int epoch, int batch, int batchesPerEpoch)
    {
        if (_pending.Count > 0 && _pending.All(p => Captured(p.Approx) != null)) ChooseKeeps();
        _generator.Reseed(StepSeed(_seed, epoch, batch));
    }

    static (Tensor Input, bool NeedsGrad)? Captured(Module approx) =>
        approx is ApproxLinear l ? l.CapturedInput : ((ApproxConv2d)approx).CapturedInput;

    /// <summary>Times every candidate on its captured input at keep, keep + 0.2, … below 1, and applies
    /// <see cref="AutoKeep.Choose"/>'s keeps (1 = the layer stays exact).</summary>
    void ChooseKeeps()
    {
        var keeps = new List<double>();
        for (double k = _settings.Keep; k < 1 - 1e-9; k += 0.2) keeps.Add(Math.Round(k, 6));
        var rng = new Generator(StepSeed(_seed, -1, 0));
        var costs = _pending.Select(p =>
        {
            var (input, needsGrad) = Captured(p.Approx)!.Value;
            return Meter?.Invoke(p.Name, p.Exact, keeps) ?? LayerCostMeter.Measure(p.Name, p.Exact, input, needsGrad, _settings, keeps, rng);
        }).ToList();
        var chosen = AutoKeep.Choose(costs, _errorBudget, _minSaving);
        for (int i = 0; i < _pending.Count; i++)
        {
            var settings = _settings with { Keep = chosen[i] };
            if (_pending[i].Approx is ApproxLinear l) { l.Settings = settings; l.CapturedInput = null; }
            else { var c = (ApproxConv2d)_pending[i].Approx; c.Settings = settings; c.CapturedInput = null; }
        }
        AutoCosts = costs;
        AutoKeeps = AutoKeep.Spec(_pending.Select(p => p.Name).ToList(), chosen);
        _pending.Clear();
        _reportCosts = true;
    }

    /// <summary>A seed for step (epoch, batch) of a run: SplitMix64 finalizer over the three, so nearby steps get unrelated streams.</summary>
    static ulong StepSeed(ulong seed, int epoch, int batch)
    {
        ulong z = seed * 0x9E3779B97F4A7C15UL ^ ((ulong)(uint)epoch << 32 | (uint)batch);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31) ^ 0x5CA1AB1EUL;
    }

    /// <summary>The approximated layers by state-dict name (after <see cref="Attach"/>).</summary>
    public IReadOnlyList<(string Name, Module Layer, ApproxLayerStats Stats)> Layers => _approx;

    public void Attach(Module model)
    {
        if (_approx.Count > 0) throw new InvalidOperationException("approx: already attached to a model");
        var named = model.NamedModules().ToList();
        var modules = named.ToDictionary(m => m.Name, m => m.Module);
        bool auto = ApproxLayerSelection.IsAuto(_layers);
        var chosen = ApproxLayerSelection.Select(model, _layers).ToDictionary(c => c.Name, c => auto ? 1.0 : c.Keep);
        foreach (var (name, layer) in named.Where(m => m.Module is Linear or Conv2d))
        {
            if (!chosen.TryGetValue(name, out var keep)) { CountExact(layer); continue; }
            var settings = keep is double r ? _settings with { Keep = r } : _settings;
            Module replacement;
            ApproxLayerStats stats;
            if (layer is Linear lin) { var a = new ApproxLinear(lin, settings, _generator); replacement = a; stats = a.Stats; }
            else { var a = new ApproxConv2d((Conv2d)layer, settings, _generator); replacement = a; stats = a.Stats; }
            int dot = name.LastIndexOf('.');
            var parent = dot < 0 ? model : modules[name[..dot]];
            parent.ReplaceChild(dot < 0 ? name : name[(dot + 1)..], replacement);
            _approx.Add((name, replacement, stats));
            if (auto)
            {
                if (replacement is ApproxLinear al) al.CaptureInput = true; else ((ApproxConv2d)replacement).CaptureInput = true;
                _pending.Add((name, layer, replacement));
            }
        }
    }

    /// <summary>Counts an exact layer's products on each training forward: the forward, dW, and dX when its input needs a gradient.</summary>
    void CountExact(Module layer)
    {
        layer.RegisterForwardHook((m, y) =>
        {
            if (!m.Training) return y;
            double macs = m switch
            {
                Linear l => (double)y.Shape[0] * l.InFeatures * l.OutFeatures,
                Conv2d c => (double)y.Numel * (c.InChannels / c.Groups) * c.KernelSize.H * c.KernelSize.W,
                _ => 0,
            };
            int passes = 1;
            if (y.GradFn != null)
            {
                var inputs = y.GradFn.Inputs;
                passes += (inputs[0].RequiresGrad ? 1 : 0) + (inputs[1].RequiresGrad ? 1 : 0);
            }
            _exact.AddMacs(passes * macs, passes * macs);
            return y;
        });
    }

    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        double executed = _exact.ExecutedMacs, exact = _exact.ExactMacs, sampledExecuted = 0, sampledExact = 0;
        var layers = new Dictionary<string, object>();
        foreach (var (name, layer, st) in _approx)
        {
            sampledExecuted += st.ExecutedMacs; sampledExact += st.ExactMacs;
            var f = new Dictionary<string, object>
            {
                ["keep"] = layer is ApproxLinear al ? al.Settings.Keep : ((ApproxConv2d)layer).Settings.Keep,
                ["flops_ratio"] = Ratio(st.ExecutedMacs, st.ExactMacs),
            };
            Add(f, "", st.Forward);
            Add(f, "_dx", st.BackwardInput);
            Add(f, "_dw", st.BackwardWeight);
            layers[name] = f;
            st.Reset();
        }
        executed += sampledExecuted; exact += sampledExact;
        _exact.Reset();
        figures["approx_flops_ratio"] = Ratio(executed, exact);
        figures["approx_sampled_flops_ratio"] = Ratio(sampledExecuted, sampledExact);
        figures["approx_layers"] = layers;
        if (AutoKeeps != null) figures["approx_auto_keeps"] = AutoKeeps;
        if (_reportCosts)
        {
            // The measurements behind the choice, once (the epoch it was made in).
            figures["approx_auto_costs"] = AutoCosts!.ToDictionary(c => c.Name, c => (object)new Dictionary<string, object>
            {
                ["exact_ms"] = Math.Round(c.ExactMs, 3),
                ["keeps"] = c.Options.Select(o => new Dictionary<string, object>
                    { ["keep"] = o.Keep, ["ms"] = Math.Round(o.Ms, 3), ["error"] = Math.Round(o.Error, 4) }).ToList(),
            });
            _reportCosts = false;
        }
    }

    static double Ratio(double executed, double exact) => exact > 0 ? executed / exact : 1.0;

    static void Add(Dictionary<string, object> f, string suffix, ApproxLayerStats.KCount k)
    {
        if (k.Calls == 0) return;
        f["n" + suffix] = k.N;
        f["mean_k" + suffix] = Math.Round(k.MeanK, 3);
    }
}
