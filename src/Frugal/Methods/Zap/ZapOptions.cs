using System.Text.Json.Serialization;
using Frugal.Options;

namespace Frugal.Methods.Zap;

/// <summary>How the predictors' thresholds are chosen (../shared/METHODS.md §6).</summary>
public enum ZapThresholdMode
{
    /// <summary>One threshold t for every layer, swept over <see cref="ZapOptions.Thresholds"/>.</summary>
    Uniform,
    /// <summary>A threshold per layer (or the layer's ZAP off) minimising total net MACs subject to Σ error ≤ budget,
    /// for each budget of <see cref="ZapOptions.Budgets"/> (<see cref="ThresholdSolver"/>).</summary>
    [JsonStringEnumMemberName("per_layer")] PerLayer,
}

/// <summary>
/// Options of ZAP (Shomron et al., ECCV 2020; ../shared/METHODS.md §6), with the paper's defaults. Where the reference
/// code (gilshm/zap) departs, its choice is an option: predictor conv bias (<see cref="Bias"/>), 5 epochs.
/// </summary>
public sealed record ZapOptions
{
    /// <summary>The spatial pattern, by computed percentage (<see cref="SpatialPattern.All"/>); 50 = checkerboard.</summary>
    public string Pattern { get; init; } = "50";
    /// <summary>ReLU layers to attach predictors after, by state-dict name, comma-separated, or "all"; null = every ReLU
    /// that follows a convolution except the first (its 1-channel conv costs 9 MACs per output, less than the
    /// predictor's 18: a ZAP there can only add MACs; the reference also drops the first layer).</summary>
    public string? Layers { get; init; }
    /// <summary>Training epochs per predictor (the paper: "a few"; the reference: 5).</summary>
    public int Epochs { get; init; } = 2;
    /// <summary>Adam learning rate of the predictors (paper and reference: 0.01).</summary>
    public double LearningRate { get; init; } = 0.01;
    /// <summary>Mini-batch size of predictor training, calibration and recalibration.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Predictor convolutions carry a bias (the reference code's; the paper's equation has none).</summary>
    public bool Bias { get; init; }
    /// <summary>uniform (one t for all layers) or per_layer (constrained minimisation of MACs under an error budget).</summary>
    public ZapThresholdMode Threshold { get; init; } = ZapThresholdMode.Uniform;
    /// <summary>Thresholds t of the uniform sweep, and the candidates of the per-layer solver: m = 1[u + 10⁵·P &gt; t].</summary>
    public double[] Thresholds { get; init; } = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    /// <summary>Per-layer mode: budgets on Σ over layers of error(t) = 1 − Σ(x·m)/Σx, one operating point each.</summary>
    public double[] Budgets { get; init; } = [0.02, 0.05, 0.1, 0.2];
    /// <summary>Recompute the backbone's BatchNorm running statistics under the masks at each operating point.</summary>
    public bool RecalibrateBn { get; init; }
    /// <summary>Batches of training data the BN recalibration runs (train-mode forwards, no weight update; the reference
    /// runs a whole epoch at lr 0).</summary>
    public int RecalibrationBatches { get; init; } = 50;
    /// <summary>Fine-tune the backbone one epoch with the predictors frozen at each operating point.</summary>
    public bool FineTune { get; init; }
    /// <summary>Learning rate of the fine-tune (SGD, momentum 0.9, weight decay 5·10⁻⁴, as the reference).</summary>
    public double FineTuneLearningRate { get; init; } = 1e-4;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public ZapOptions Validate()
    {
        SpatialPattern.Get(Pattern);
        OptionException.Require(Epochs >= 1, "epochs", $"must be at least 1, got {Epochs}");
        OptionException.Require(LearningRate > 0 && double.IsFinite(LearningRate), "learning_rate", $"must be a positive number, got {LearningRate}");
        OptionException.Require(BatchSize >= 1, "batch_size", $"must be at least 1, got {BatchSize}");
        OptionException.Require(Thresholds.Length > 0 && Thresholds.All(double.IsFinite), "thresholds", "must list at least one finite threshold");
        OptionException.Require(Budgets.Length > 0 && Budgets.All(b => b >= 0 && double.IsFinite(b)), "budget", "must list at least one error budget ≥ 0");
        OptionException.Require(RecalibrationBatches >= 1, "recalibration_batches", $"must be at least 1, got {RecalibrationBatches}");
        OptionException.Require(FineTuneLearningRate > 0 && double.IsFinite(FineTuneLearningRate), "fine_tune_learning_rate",
            $"must be a positive number, got {FineTuneLearningRate}");
        return this;
    }
}
