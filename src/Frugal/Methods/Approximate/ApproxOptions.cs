using System.Text.Json.Serialization;
using Frugal.Options;

namespace Frugal.Methods.Approximate;

/// <summary>The column sampler of an approximate layer (METHODS.md §2).</summary>
public enum SamplerKind
{
    /// <summary>CRS: k draws with replacement, p ∝ ‖A:,i‖·‖Bi,:‖ (<see cref="CrsSampler"/>).</summary>
    Crs,
    /// <summary>Bernoulli-CRS: each column kept independently, water-filled probabilities (<see cref="BernoulliSampler"/>).</summary>
    Bernoulli,
    /// <summary>Top-k CRS: the k largest norm products, unscaled (<see cref="TopKSampler"/>).</summary>
    [JsonStringEnumMemberName("topk")] TopK,
    /// <summary>CRS with uniform probabilities (a baseline).</summary>
    [JsonStringEnumMemberName("crs-uniform")] CrsUniform,
}

/// <summary>
/// Options of <see cref="CrsApproximation"/> (column-row sampling in conv/linear layers, METHODS.md §2); the "approx"
/// section of a run config.
/// </summary>
public sealed record ApproxOptions
{
    /// <summary>crs, bernoulli, topk or crs-uniform.</summary>
    public SamplerKind Sampler { get; init; } = SamplerKind.TopK;
    /// <summary>Fraction of columns/rows (channels) kept, k = max(min_k, ⌊keep·n⌋), in (0, 1].</summary>
    public double Keep { get; init; } = 0.5;
    /// <summary>forward (sample in the forward pass; all three GEMMs shrink), backward, or hybrid.</summary>
    public ApproxMode Mode { get; init; } = ApproxMode.Forward;
    /// <summary>Never keep fewer than this many columns/rows (the reference's minimal_k).</summary>
    public int MinK { get; init; } = 10;
    /// <summary>Which layers: null = every conv/linear except the first and the classifier; otherwise comma-separated
    /// layer names (as in the state dict, e.g. "3,7.conv1"), each optionally name=keep, "all", or "auto": every
    /// conv/linear but the classifier, each at the keep <see cref="AutoKeep"/> picks from measured cost and predicted
    /// error on the first training batch (keep, keep + 0.2, … below 1, or exact; see <see cref="ErrorBudget"/>).</summary>
    public string? Layers { get; init; }
    /// <summary>layers = auto: the largest sum over layers of the predicted relative output errors ‖Ŷ − Y‖/‖Y‖. The errors
    /// are measured at initialisation, where they overstate what training loses (the network trains with the sampling):
    /// on the cnn, top-k keep 0.5 on convs 2–4 predicts 0.61 + 0.66 + 0.61 = 1.88 and costs −0.33 ± 0.14 pp over 5 seeds
    /// with the batch norms re-estimated (docs/RESULTS.md), so the default 2 lets auto reach that choice.</summary>
    public double ErrorBudget { get; init; } = 2;
    /// <summary>layers = auto: a layer is sampled (or its keep lowered) only if that saves at least this fraction of the
    /// candidate layers' total exact forward + backward time; smaller savings leave it exact.</summary>
    public double MinSaving { get; init; } = 0.03;
    /// <summary>The reference code's ε-uniform mix (0.1 there; 0 = the paper's optimal probabilities): CRS draws from
    /// (1 − ε)·a/Σa + ε/n; Bernoulli uses the reference's clip min(1, k·a/Σa) mixed the same way instead of water-filling.</summary>
    public double Epsilon { get; init; }
    /// <summary>activations_and_weights (a_i = ‖X[:,i]‖·‖W[:,i]‖, the paper's) or weights (a_i = ‖W[:,i]‖: every rank
    /// selects the same columns, as the topk-crs gradient exchange does); forward sampling only.</summary>
    public ApproxScore Score { get; init; } = ApproxScore.ActivationsAndWeights;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public ApproxOptions Validate()
    {
        OptionException.Require(Epsilon >= 0 && Epsilon < 1, "epsilon", $"must be in [0, 1), got {Epsilon}");
        // topk has no distribution to mix and crs-uniform is uniform already: an ε there would be ignored.
        OptionException.Require(Epsilon == 0 || Sampler is SamplerKind.Crs or SamplerKind.Bernoulli, "epsilon",
            $"mixes the crs and bernoulli distributions with uniform; the {Samplers.Create(Sampler).Name} sampler has none to mix (leave epsilon at 0)");
        OptionException.Require(ErrorBudget >= 0, "error_budget", $"must be ≥ 0, got {ErrorBudget}");
        OptionException.Require(MinSaving >= 0 && MinSaving < 1, "min_saving", $"must be in [0, 1), got {MinSaving}");
        _ = Settings;
        return this;
    }

    /// <summary>The per-layer settings these options give (before any per-layer keep of <see cref="Layers"/>).</summary>
    public ApproxSettings Settings => new(Samplers.Create(Sampler, Epsilon), Keep, MinK, Mode, Score);
}
