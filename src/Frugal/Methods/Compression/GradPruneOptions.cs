using Frugal.Training;

namespace Frugal.Methods.Compression;

/// <summary>Which entries survive pruning (../shared/METHODS.md §1).</summary>
public enum GradPruneMode
{
    /// <summary>The paper's unbiased stochastic pruning (E[T(g)] = g); threshold from the lognormal fit.</summary>
    Stochastic,
    /// <summary>Hard threshold exp(μ + σΦ⁻¹(s')) from the lognormal fit (biased baseline).</summary>
    Deterministic,
    /// <summary>Keep the ⌈(1 − s)·n⌉ largest magnitudes, by exact selection each step (biased baseline; no fit needed).</summary>
    TopK,
}

/// <summary>How a layer's sparsity target becomes a threshold (stochastic and deterministic modes).</summary>
public enum GradPruneThreshold
{
    /// <summary>The paper's closed form from the fitted μ, σ and zero fraction (<see cref="LogNormal"/>).</summary>
    LogNormal,
    /// <summary>The same sparsity equation solved on the gradient's sample (<see cref="EmpiricalThreshold"/>): hits the
    /// target whatever the distribution; not the paper's.</summary>
    Empirical,
}

/// <summary>When thresholds are estimated.</summary>
public enum GradPruneSchedule
{
    /// <summary>Fit and threshold every step.</summary>
    Step,
    /// <summary>The reference code: the first half of epoch 1 dense ("hot start"), then at the start of each epoch
    /// (after the hot start in epoch 1) thresholds are estimated on two batches and frozen for the rest of the epoch.</summary>
    Epoch,
}

/// <summary>
/// Options of <see cref="NeuralGradientPruning"/>, with documented defaults (the CLI maps its flags here through
/// <see cref="FromTrainOptions"/>).
/// </summary>
/// <param name="Sparsity">Global target sparsity of the hooked neural gradients, by element count.</param>
/// <param name="Mode">stochastic (paper), deterministic or top-k.</param>
/// <param name="Threshold">Closed form from the lognormal fit (paper) or solved on the sampled gradient.</param>
/// <param name="CosineAllocation">false: every layer at <paramref name="Sparsity"/>; true: per-layer sparsity under
/// cosine floors with the same global budget (<see cref="SparsityAllocation"/>).</param>
/// <param name="CosFloor">Cosine floor of the protected layers (the reference uses 0.95–0.98).</param>
/// <param name="MaxSparsity">Cap on the sparsity of unprotected layers in cosine allocation (reference: 0.9).</param>
/// <param name="Schedule">Per step, or per epoch as the reference code.</param>
/// <param name="TruncatedCosine">Cosine floors use the truncated-tail cosine (the reference code's variant, matches
/// finite tensors better) instead of the thesis' plain closed form. Both are reported.</param>
/// <param name="FitSampleSize">Entries sampled per tensor for the lognormal fit (<see cref="GradientStatistics"/>).</param>
/// <param name="KsInterval">The KS diagnostics (which sort the sample) run on the first fit of each layer in an epoch
/// and then every this many fits; the lognormal fit itself runs on every fit.</param>
/// <param name="Seed">Seeds the stochastic pruning and the fit's subsample (mixed with step and layer).</param>
public sealed record GradPruneOptions(
    double Sparsity = 0.85,
    GradPruneMode Mode = GradPruneMode.Stochastic,
    GradPruneThreshold Threshold = GradPruneThreshold.LogNormal,
    bool CosineAllocation = false,
    double CosFloor = 0.95,
    double MaxSparsity = 0.9,
    GradPruneSchedule Schedule = GradPruneSchedule.Step,
    bool TruncatedCosine = false,
    int FitSampleSize = GradientStatistics.FitSampleSize,
    int KsInterval = 16,
    ulong Seed = 0)
{
    public static GradPruneOptions FromTrainOptions(TrainOptions o) => new(
        Sparsity: o.GradPrune,
        Mode: o.GradPruneMode switch
        {
            "stochastic" => GradPruneMode.Stochastic,
            "deterministic" => GradPruneMode.Deterministic,
            "topk" => GradPruneMode.TopK,
            _ => throw new ArgumentException($"--grad-prune-mode: unknown mode '{o.GradPruneMode}' (stochastic, deterministic, topk)"),
        },
        Threshold: o.GradPruneThreshold switch
        {
            "lognormal" => GradPruneThreshold.LogNormal,
            "empirical" => GradPruneThreshold.Empirical,
            _ => throw new ArgumentException($"--grad-prune-threshold: unknown threshold '{o.GradPruneThreshold}' (lognormal, empirical)"),
        },
        CosineAllocation: o.GradPruneAlloc switch
        {
            "uniform" => false,
            "cosine" => true,
            _ => throw new ArgumentException($"--grad-prune-alloc: unknown allocation '{o.GradPruneAlloc}' (uniform, cosine)"),
        },
        CosFloor: o.CosFloor,
        MaxSparsity: o.GradPruneMaxSparsity,
        Schedule: o.GradPruneSchedule switch
        {
            "step" => GradPruneSchedule.Step,
            "epoch" => GradPruneSchedule.Epoch,
            _ => throw new ArgumentException($"--grad-prune-schedule: unknown schedule '{o.GradPruneSchedule}' (step, epoch)"),
        },
        Seed: o.Seed);

    /// <summary>Rejects impossible settings, naming the setting.</summary>
    public GradPruneOptions Validate()
    {
        if (!(Sparsity >= 0 && Sparsity < 1)) throw new ArgumentException($"grad_prune: sparsity must be in [0, 1), got {Sparsity}");
        if (!(CosFloor > 0 && CosFloor <= 1)) throw new ArgumentException($"grad_prune: cosine floor must be in (0, 1], got {CosFloor}");
        if (!(MaxSparsity > 0 && MaxSparsity < 1)) throw new ArgumentException($"grad_prune: max sparsity must be in (0, 1), got {MaxSparsity}");
        if (FitSampleSize < 16) throw new ArgumentException($"grad_prune: fit sample size must be at least 16, got {FitSampleSize}");
        if (KsInterval < 1) throw new ArgumentException($"grad_prune: KS interval must be at least 1, got {KsInterval}");
        return this;
    }
}
