using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Compression;

/// <summary>
/// Prunes the neural gradients (gradients w.r.t. layer outputs) of every Conv2d and Linear except the classifier,
/// with thresholds from the lognormal fit of each gradient (Chmiel, Ben-Uri, Shkolnik, Hoffer, Banner, Soudry,
/// ICLR 2021, arXiv 2006.08173, §4; ../shared/METHODS.md §1). The pruned gradient is what the layer's backward
/// GEMMs (dX and dW) and everything below it see. Only the stochastic mode is unbiased (E[T(g)] = g); the
/// deterministic and top-k modes are biased baselines.
/// </summary>
/// <remarks>
/// Mechanism: a forward hook on each layer registers a gradient hook on the layer's output (training mode with grad
/// enabled only). The gradient hooks fire in backward order, which is the order the cosine allocation visits layers.
/// Per hook: fit (μ, σ, zero fraction, KS; <see cref="GradientStatistics"/>), choose the layer's sparsity (uniform or
/// <see cref="SparsityAllocation"/>), turn it into a threshold (<see cref="LogNormal"/>), prune (<see cref="Pruning"/>,
/// which also measures zeros and cosine in the same pass). Differences from the reference code: it prunes at the input
/// of the following BatchNorm and counts zeros and fits ln|g| on the BatchNorm's output gradient; here the fit, the
/// zero fraction and the pruning all use the gradient that is pruned, the conv/linear output's. Its estimation
/// batches prune with the previous thresholds; here they prune with the ones just estimated, and the frozen
/// thresholds are the second batch's, as in the reference (which overwrites the first).
/// </remarks>
public sealed class NeuralGradientPruning : ITrainingMethod
{
    enum Phase { Dense, Estimate, Frozen }

    sealed class Layer(string name, int index)
    {
        public readonly string Name = name;
        public readonly int Index = index;
        public long Elements;
        public bool Forwarded;
        // The layer's current schedule state: sparsity target, threshold (stochastic/deterministic), predicted cosines.
        public double Target, Alpha, CosPred = 1, CosPredTruncated = 1;
        public bool HasThreshold;
        public LayerFigures Figures = new();
        public float[]? Sample;       // the fit's sample, allocated once
    }

    readonly GradPruneOptions _options;
    readonly List<Layer> _layers = [];
    readonly SparsityAllocation? _allocation;
    Phase _phase = Phase.Estimate;
    long _step;
    int _batch;                 // step within the epoch: the refit schedule counts from each epoch's first step
    bool _inBackward;
    int _pending;
    int _prunedSteps;
    long _fusedPrunes;
    bool _prunedThisStep;

    readonly ulong _seed;

    /// <param name="options">What to prune and how.</param>
    /// <param name="seed">Seeds the stochastic pruning and the fit's subsample (mixed with step and layer).</param>
    public NeuralGradientPruning(GradPruneOptions options, ulong seed = 0)
    {
        _options = options.Validate();
        _seed = seed;
        if (options.Allocation == GradPruneAllocation.Cosine) _allocation = new SparsityAllocation(options.Sparsity, options.MaxSparsity);
    }

    public GradPruneOptions Options => _options;

    /// <summary>The hooked layers' names (state-dict prefixes), in forward order.</summary>
    public IReadOnlyList<string> LayerNames => _layers.Select(l => l.Name).ToList();

    /// <summary>Hooks every Conv2d and Linear except the last Linear (the classifier).</summary>
    public void Attach(Module model)
    {
        if (_layers.Count > 0) throw new InvalidOperationException("grad_prune: already attached to a model");
        foreach (var (name, module) in ComputeLayers.AllButClassifier(model))
        {
            var layer = new Layer(name.Length == 0 ? module.GetType().Name : name, _layers.Count);
            _layers.Add(layer);
            module.RegisterForwardHook((m, y) => OnForward(layer, m, y));
        }
        if (_layers.Count == 0) throw new ArgumentException("grad_prune: the model has no Conv2d or Linear layer besides the classifier to prune");
    }

    /// <summary>Sets the step's phase: estimate every refit_interval-th step of the epoch and freeze in between (step
    /// schedule), or hot start / estimate / frozen (epoch schedule).</summary>
    public void OnStep(int epoch, int batch, int batchesPerEpoch)
    {
        _step = (long)(epoch - 1) * batchesPerEpoch + batch;
        _batch = batch;
        ResetPass();
        if (_options.Schedule == GradPruneSchedule.Step) { _phase = StepPhase(batch); return; }
        int hot = epoch == 1 ? batchesPerEpoch / 2 : 0;
        _phase = batch < hot ? Phase.Dense : batch < hot + 2 ? Phase.Estimate : Phase.Frozen;
    }

    Phase StepPhase(int batch) => batch % _options.RefitInterval == 0 ? Phase.Estimate : Phase.Frozen;

    void ResetPass()
    {
        foreach (var l in _layers) l.Forwarded = false;
        _inBackward = false;
        _pending = 0;
    }

    Tensor OnForward(Layer layer, Module module, Tensor y)
    {
        if (!module.Training || !GradMode.IsEnabled || !y.RequiresGrad || _phase == Phase.Dense) return y;
        // A forward after an unfinished backward (an output that got no gradient) starts a new pass.
        if (_inBackward || layer.Forwarded) ResetPass();
        // Epoch schedule: a layer not estimated yet stays dense; the step schedule estimates it (see BeginBackward).
        if (_phase == Phase.Frozen && !layer.HasThreshold && _options.Schedule == GradPruneSchedule.Epoch) return y;
        layer.Forwarded = true;
        layer.Elements = y.Numel;
        _pending++;
        y.RegisterHook(new LayerHook(this, layer));
        return y;
    }

    /// <summary>One layer's hook for one forward: a frozen threshold is known before the gradient exists, so the
    /// gradient's producer (the following batch norm's backward) may prune as it writes.</summary>
    sealed class LayerHook(NeuralGradientPruning owner, Layer layer) : PruneGradientHook
    {
        public override PrunePlan? Plan() => owner.Plan(layer);
        public override Tensor Apply(Tensor gradient) => owner.OnGradient(layer, gradient);
        public override void Pruned(PruneStats stats)
        {
            // Counted for `frugal bench step`; its time is inside the producer's backward (BatchNormFn).
            if (Profiler.Enabled) Profiler.Add("grad_prune fused (time in producer)", System.Diagnostics.Stopwatch.GetTimestamp());
            owner._fusedPrunes++;
            owner.Record(layer, stats);
            owner.EndGradient();
        }
    }

    PrunePlan? Plan(Layer layer)
    {
        if (!_inBackward) BeginBackward();
        return _phase == Phase.Estimate ? null : ThresholdPlan(layer);
    }

    /// <summary>The layer's prune at its current threshold, the same for the fused and the separate pass; null for
    /// top-k, which needs the gradient itself.</summary>
    PrunePlan? ThresholdPlan(Layer layer)
    {
        float alpha = (float)Math.Min(layer.Alpha, float.MaxValue);
        return _options.Mode switch
        {
            GradPruneMode.Stochastic => new PrunePlan(PruneKind.Stochastic, alpha, CounterRandom.Combine(_seed, _step, 2L * layer.Index)),
            GradPruneMode.Deterministic => new PrunePlan(PruneKind.Threshold, alpha, 0),
            _ => null,
        };
    }

    Tensor OnGradient(Layer layer, Tensor g)
    {
        if (!_inBackward) BeginBackward();
        if (_phase == Phase.Estimate) Estimate(layer, g);
        var pruned = Prune(layer, g);
        EndGradient();
        return pruned;
    }

    /// <summary>One hooked gradient is done: after the pass's last, the step's bookkeeping.</summary>
    void EndGradient()
    {
        if (--_pending == 0)
        {
            _inBackward = false;
            if (_prunedThisStep) _prunedSteps++;
            _prunedThisStep = false;
            _step++;                // steps without OnStep (direct use) still get fresh random streams and the refit schedule
            if (_options.Schedule == GradPruneSchedule.Step) _phase = StepPhase(++_batch);
            foreach (var l in _layers) l.Forwarded = false;
        }
    }

    void BeginBackward()
    {
        _inBackward = true;
        // A frozen step with a layer that has no threshold yet (its first gradient) re-estimates every layer, so the
        // cosine allocation always sees a whole pass.
        if (_phase == Phase.Frozen && _layers.Any(l => l.Forwarded && !l.HasThreshold)) _phase = Phase.Estimate;
        if (_allocation == null || _phase != Phase.Estimate) return;
        var elements = _layers.Select(l => l.Forwarded ? l.Elements : 0).ToArray();
        _allocation.Begin(elements, SparsityAllocation.DefaultProtected(elements));
    }

    /// <summary>Fits the layer's gradient and sets its target, threshold and predicted cosine.</summary>
    void Estimate(Layer layer, Tensor g)
    {
        long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        int size = Math.Clamp(g.Numel, 1, _options.FitSampleSize);
        if (layer.Sample == null || layer.Sample.Length < size) layer.Sample = new float[size];
        var seed = CounterRandom.Combine(_seed, _step, 2L * layer.Index + 1);
        ReadOnlySpan<float> sample = layer.Sample.AsSpan(0, GradientStatistics.Sample(g, seed, layer.Sample.AsSpan(0, size)));
        var fit = GradientStatistics.FitSample(sample, kolmogorovSmirnov: false);
        if (Profiler.Enabled) Profiler.Add("grad_prune fit", t0);
        if (layer.Figures.Fits % _options.KsInterval == 0)
        {
            long t1 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            fit = GradientStatistics.WithKolmogorovSmirnov(fit, sample);
            if (Profiler.Enabled) Profiler.Add("grad_prune ks (diagnostics)", t1);
        }
        layer.Figures.AddFit(fit);
        bool stochastic = _options.Mode == GradPruneMode.Stochastic;
        bool usable = fit.Sigma > 0 && double.IsFinite(fit.Sigma) && double.IsFinite(fit.Mu);
        double z = fit.ZeroFraction;
        double target = _options.Sparsity;
        if (_allocation != null)
        {
            double floorSparsity = 1;
            if (usable)
            {
                double k = _options.TruncatedCosine ? fit.TailK : double.PositiveInfinity;
                floorSparsity = z + (1 - z) * LogNormal.SparsityForCosine(_options.CosFloor, fit.Sigma, k, stochastic);
            }
            target = _allocation.Next(layer.Index, floorSparsity);
        }
        layer.Target = target;
        double s = LogNormal.NonZeroTarget(target, z);
        if (!usable || s <= 0)
        {
            layer.Alpha = 0; layer.CosPred = layer.CosPredTruncated = 1;
        }
        else
        {
            double logA = stochastic ? LogNormal.LogNormalizedThreshold(s, fit.Sigma) : fit.Sigma * MathNet.Numerics.Distributions.Normal.InvCDF(0, 1, s);
            double a = Math.Exp(logA);
            bool empirical = _options.Threshold == GradPruneThreshold.Empirical;
            layer.Alpha = _options.Mode switch
            {
                GradPruneMode.Stochastic when empirical => EmpiricalThreshold.Stochastic(sample, target),
                GradPruneMode.Deterministic when empirical => EmpiricalThreshold.Deterministic(sample, target),
                GradPruneMode.Stochastic => LogNormal.ThresholdForSparsity(target, fit.Mu, fit.Sigma, z),
                GradPruneMode.Deterministic => LogNormal.DeterministicThreshold(target, fit.Mu, fit.Sigma, z),
                _ => 0,
            };
            layer.CosPred = stochastic ? LogNormal.Cosine(a, fit.Sigma) : LogNormal.DeterministicCosine(a, fit.Sigma);
            layer.CosPredTruncated = stochastic ? LogNormal.TruncatedCosine(a, fit.Sigma, fit.TailK) : LogNormal.DeterministicCosine(a, fit.Sigma, fit.TailK);
        }
        layer.HasThreshold = true;
    }

    Tensor Prune(Layer layer, Tensor g)
    {
        long t0 = Profiler.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        var (pruned, stats) = ThresholdPlan(layer) switch
        {
            { Kind: PruneKind.Stochastic } p => g.PruneStochastic(p.Threshold, p.Seed),
            { } p => g.PruneThreshold(p.Threshold),
            null => g.PruneTopK((long)Math.Round((1 - layer.Target) * g.Numel)),
        };
        if (Profiler.Enabled) Profiler.Add("grad_prune prune", t0);
        Record(layer, stats);
        return pruned;
    }

    /// <summary>What a prune of the layer's gradient did, wherever it ran.</summary>
    void Record(Layer layer, PruneStats stats)
    {
        if (_allocation != null && _phase == Phase.Estimate) _allocation.Realised(layer.Index, stats.Zeros);
        layer.Figures.AddPrune(layer.Target, layer.CosPred, layer.CosPredTruncated, stats.Cosine, stats.Zeros, stats.Elements);
        _prunedThisStep = true;
    }

    /// <summary>
    /// grad_sparsity: zeros / elements over every pruned gradient of the epoch; grad_pruned_steps: steps that pruned
    /// (fewer than the epoch's steps during the hot start); grad_fused_prunes: prunes that the gradient's producer
    /// applied as it wrote the gradient (no pass of their own; see <see cref="PruneGradientHook"/>); grad_layers: per
    /// layer target, achieved sparsity, fits, μ, σ, predicted cosine (plain and truncated), measured cosine, KS
    /// statistics (lognormal, Gaussian, Laplace).
    /// </summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        long zeros = _layers.Sum(l => l.Figures.Zeros), elements = _layers.Sum(l => l.Figures.Elements);
        if (elements > 0) figures["grad_sparsity"] = (double)zeros / elements;
        figures["grad_pruned_steps"] = _prunedSteps;
        figures["grad_fused_prunes"] = _fusedPrunes;
        figures["grad_layers"] = _layers.ToDictionary(l => l.Name, l => (object)l.Figures.ToFigures());
        foreach (var l in _layers) l.Figures = new LayerFigures();
        _prunedSteps = 0;
        _fusedPrunes = 0;
    }
}
