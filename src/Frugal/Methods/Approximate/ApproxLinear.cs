using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// A drop-in replacement of <see cref="Linear"/> that computes y = x·Wᵀ + b by column-row sampling while training
/// (Adelman et al., NeurIPS 2021, arXiv 1805.08079; METHODS.md §2) and exactly in evaluation. It registers the exact
/// layer's own weight and bias tensors, so state-dict keys and optimizer parameters do not change.
/// Forward mode samples the input features by ‖X[:,i]‖·‖W[:,i]‖ (W is [out, in]; or ‖W[:,i]‖ alone,
/// <see cref="ApproxSettings.Score"/>) and multiplies X[:,S]·(W[:,S]·diag(s))ᵀ, whose backward touches only the kept
/// columns; backward mode samples dX over output features and dW over examples.
/// </summary>
public sealed class ApproxLinear : Module
{
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Tensor Weight { get; private set; }
    public Tensor? Bias { get; private set; }
    public ApproxSettings Settings { get; set; }
    public ApproxLayerStats Stats { get; } = new();
    /// <summary>Set: the next training forward keeps a copy of its input in <see cref="CapturedInput"/> (what
    /// <see cref="CrsApproximation"/> measures the keeps of layers = auto on).</summary>
    internal bool CaptureInput { get; set; }
    internal (Tensor Input, bool NeedsGrad)? CapturedInput { get; set; }
    readonly Generator? _generator;

    /// <param name="exact">The layer replaced; its weight and bias tensors are shared.</param>
    /// <param name="settings">Sampler, keep ratio, minimal k and mode.</param>
    /// <param name="generator">Source of the sampling randomness; null = <see cref="Generator.Default"/> at each call
    /// (seeded by the Trainer and saved in checkpoints, so runs and resumes repeat exactly).</param>
    public ApproxLinear(Linear exact, ApproxSettings settings, Generator? generator = null)
    {
        InFeatures = exact.InFeatures; OutFeatures = exact.OutFeatures;
        Weight = Parameter("weight", exact.Weight);
        if (exact.Bias != null) Bias = Parameter("bias", exact.Bias);
        Settings = settings;
        _generator = generator;
    }

    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank != 2 || x.Shape[1] != InFeatures)
            throw new ArgumentException($"ApproxLinear({InFeatures}, {OutFeatures}): input has shape {x.Shape}, expected [N, {InFeatures}]");
        if (!Training) return x.Linear(Weight, Bias);
        if (CaptureInput) { CapturedInput = (TermSampling.Snapshot(x), x.RequiresGrad); CaptureInput = false; }
        var s = Settings;
        var rng = _generator ?? Generator.Default;
        int n = x.Shape[0];
        double full = (double)n * InFeatures * OutFeatures;
        ColumnSample? sample = null;
        // The scale goes on the smaller gathered operand, X[:,S] [N, k] or W[:,S] [out, k]: one pass over it
        // forward, and one over its gradient backward.
        bool scaleX = n <= OutFeatures, fused = SampledInputsLinearFn.Supports(x, Weight);
        if (s.Mode != ApproxMode.Backward)
        {
            sample = TermSampling.SampleInputs(s, x, Weight, rng, Stats.Forward, fused);
            if (sample.IsExact) sample = null;
        }
        int kept = sample?.Count ?? InFeatures;
        double executed = (double)n * kept * OutFeatures;
        Stats.AddMacs(full, executed);
        bool grads = GradMode.IsEnabled && (x.RequiresGrad || Weight.RequiresGrad || (Bias?.RequiresGrad ?? false));
        bool exactBackward = s.Mode == ApproxMode.Forward || !grads;
        if (exactBackward)
        {
            // Backward of the smaller product: dW on the kept columns (if W trains), dX on them (if x needs it).
            if (grads)
            {
                int passes = (Weight.RequiresGrad ? 1 : 0) + (x.RequiresGrad ? 1 : 0);
                Stats.AddMacs(passes * full, passes * executed);
            }
            if (sample != null && fused) return new SampledInputsLinearFn(sample, scaleX).Forward(x, Weight, Bias);
        }
        var xs = sample == null ? x : TermSampling.Gather(x, 1, sample, scaled: scaleX);
        var ws = sample == null ? Weight : TermSampling.Gather(Weight, 1, sample, scaled: !scaleX);
        return exactBackward ? xs.Linear(ws, Bias) : new SampledBackwardLinearFn(s, rng, Stats, full).Forward(xs, ws, Bias);
    }

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "weight") Weight = moved; else Bias = moved;
    }

    public override string ToString() => $"ApproxLinear({InFeatures}, {OutFeatures}, {Settings.Sampler.Name}, keep={Settings.Keep}, {Settings.Mode})";
}
