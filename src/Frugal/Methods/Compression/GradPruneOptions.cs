using System.Text.Json.Serialization;
using Frugal.Options;

namespace Frugal.Methods.Compression;

/// <summary>Which entries survive pruning (../shared/METHODS.md §1).</summary>
public enum GradPruneMode
{
    /// <summary>The paper's unbiased stochastic pruning (E[T(g)] = g); threshold from the lognormal fit.</summary>
    Stochastic,
    /// <summary>Hard threshold exp(μ + σΦ⁻¹(s')) from the lognormal fit (biased baseline).</summary>
    Deterministic,
    /// <summary>Keep the ⌈(1 − s)·n⌉ largest magnitudes, by exact selection each step (biased baseline; no fit needed).</summary>
    [JsonStringEnumMemberName("topk")] TopK,
}

/// <summary>How a layer's sparsity target becomes a threshold (stochastic and deterministic modes).</summary>
public enum GradPruneThreshold
{
    /// <summary>The paper's closed form from the fitted μ, σ and zero fraction (<see cref="LogNormal"/>).</summary>
    [JsonStringEnumMemberName("lognormal")] LogNormal,
    /// <summary>The same sparsity equation solved on the gradient's sample (<see cref="EmpiricalThreshold"/>): hits the
    /// target whatever the distribution; not the paper's.</summary>
    Empirical,
}

/// <summary>When thresholds are estimated.</summary>
public enum GradPruneSchedule
{
    /// <summary>Fit and threshold on the first step of each epoch and then every <see cref="GradPruneOptions.RefitInterval"/>
    /// steps; the steps between reuse the frozen thresholds (1 = every step, the paper's per-step re-estimation).</summary>
    Step,
    /// <summary>The reference code: the first half of epoch 1 dense ("hot start"), then at the start of each epoch
    /// (after the hot start in epoch 1) thresholds are estimated on two batches and frozen for the rest of the epoch.</summary>
    Epoch,
}

/// <summary>How the global sparsity budget is split between layers.</summary>
public enum GradPruneAllocation
{
    /// <summary>Every layer at the target sparsity.</summary>
    Uniform,
    /// <summary>Per-layer sparsity under cosine-similarity floors with the same global budget (<see cref="SparsityAllocation"/>).</summary>
    Cosine,
}

/// <summary>
/// Options of <see cref="NeuralGradientPruning"/> (../shared/METHODS.md §1), with documented defaults. In a run config
/// they are the "grad_prune" section; validation names the keys (<see cref="OptionException"/>).
/// </summary>
public sealed record GradPruneOptions
{
    /// <summary>Global target sparsity of the hooked neural gradients, by element count, in (0, 1).</summary>
    public double Sparsity { get; init; } = 0.85;
    /// <summary>stochastic (the paper's, unbiased), deterministic or topk.</summary>
    public GradPruneMode Mode { get; init; } = GradPruneMode.Stochastic;
    /// <summary>lognormal (the paper's closed form from the fitted μ, σ) or empirical (the same sparsity equation solved
    /// on a sample of the gradient: exact whatever the distribution).</summary>
    public GradPruneThreshold Threshold { get; init; } = GradPruneThreshold.LogNormal;
    /// <summary>uniform, or cosine (per-layer sparsity under cosine floors, same global budget).</summary>
    public GradPruneAllocation Allocation { get; init; } = GradPruneAllocation.Uniform;
    /// <summary>Cosine allocation: the cosine-similarity floor of the protected (later) layers (the reference uses 0.95–0.98).</summary>
    public double CosFloor { get; init; } = 0.95;
    /// <summary>Cosine allocation: no layer is pruned beyond this sparsity (reference: 0.9).</summary>
    public double MaxSparsity { get; init; } = 0.9;
    /// <summary>step (re-estimate every <see cref="RefitInterval"/> steps) or epoch (the reference code: half an epoch
    /// dense, then thresholds from two batches, frozen for the epoch).</summary>
    public GradPruneSchedule Schedule { get; init; } = GradPruneSchedule.Step;
    /// <summary>Cosine floors use the truncated-tail cosine (the reference code's variant, matches finite tensors
    /// better) instead of the thesis' plain closed form. Both are reported.</summary>
    public bool TruncatedCosine { get; init; }
    /// <summary>Step schedule: thresholds are re-estimated every this many steps (counted from each epoch's first) and
    /// frozen in between. The default 8 was chosen by measured drift on the cnn (docs/METHODS.md §1): thresholds 8 steps
    /// old move the achieved sparsity by ≈ 0.2 pp on average, below the fit's own sampling error.</summary>
    public int RefitInterval { get; init; } = 8;
    /// <summary>Entries sampled per tensor for the lognormal fit (<see cref="GradientStatistics"/>; 4096 by the
    /// measured accuracy on the cnn's gradients).</summary>
    public int FitSampleSize { get; init; } = GradientStatistics.FitSampleSize;
    /// <summary>The KS diagnostics (which sort the sample) run on the first fit of each layer in an epoch and then
    /// every this many fits; the lognormal fit itself runs on every fit.</summary>
    public int KsInterval { get; init; } = 16;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public GradPruneOptions Validate()
    {
        OptionException.Require(Sparsity > 0 && Sparsity < 1, "sparsity", $"must be in (0, 1), got {Sparsity}");
        OptionException.Require(CosFloor > 0 && CosFloor <= 1, "cos_floor", $"must be in (0, 1], got {CosFloor}");
        OptionException.Require(MaxSparsity > 0 && MaxSparsity < 1, "max_sparsity", $"must be in (0, 1), got {MaxSparsity}");
        OptionException.Require(FitSampleSize >= 16, "fit_sample_size", $"must be at least 16, got {FitSampleSize}");
        OptionException.Require(RefitInterval >= 1, "refit_interval", $"must be at least 1, got {RefitInterval}");
        OptionException.Require(KsInterval >= 1, "ks_interval", $"must be at least 1, got {KsInterval}");
        return this;
    }
}
