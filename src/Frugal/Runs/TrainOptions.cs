using System.Text.Json.Serialization;
using Frugal.Models;
using Frugal.Options;

namespace Frugal.Runs;

public enum OptimizerKind
{
    Sgd,
    Adam,
    [JsonStringEnumMemberName("adamw")] AdamW,
}

/// <summary>The learning rate per optimisation step after any warm-up.</summary>
public enum ScheduleKind
{
    Constant,
    /// <summary>Multiply by <see cref="TrainOptions.StepGamma"/> every <see cref="TrainOptions.StepEpochs"/> epochs.</summary>
    Step,
    /// <summary>Annealed to 0 over the steps after warm-up (PyTorch's CosineAnnealingLR).</summary>
    Cosine,
}

/// <summary>
/// A run config: what `frugal train` and <see cref="RunBuilder"/> build a <see cref="Training.Trainer"/> from. JSON
/// run configs (`--config`) deserialise into it, one section per method (null = the method is off); the CLI maps each
/// flag to one key. Defaults reproduce the PyTorch reference recipe (../shared/bench/torch_fashion.py).
/// </summary>
public sealed partial record TrainOptions
{
    /// <summary>A model of <see cref="ModelZoo"/>: mlp, cnn, lenet or resnet.</summary>
    public string Model { get; init; } = "cnn";
    public ModelOptions ModelOptions { get; init; } = new();
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;
    public double LearningRate { get; init; } = 0.05;
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; }
    /// <summary>L2 for sgd/adam, decoupled for adamw.</summary>
    public double WeightDecay { get; init; } = 5e-4;
    public ScheduleKind Schedule { get; init; } = ScheduleKind.Constant;
    /// <summary>Linear learning-rate warm-up over this many epochs (from lr/3, as PyTorch's LinearLR), then the schedule.</summary>
    public double WarmupEpochs { get; init; }
    public int StepEpochs { get; init; } = 30;
    public double StepGamma { get; init; } = 0.1;
    public float LabelSmoothing { get; init; }
    /// <summary>Clip the global gradient norm to this value (0 = off).</summary>
    public double ClipGradNorm { get; init; }
    /// <summary>Before each evaluation, re-estimate the batch norms' running statistics from this many training batches
    /// (<see cref="Nn.BatchNormStatistics.Update"/>; 0 = off).</summary>
    public int BnRecalibrate { get; init; }
    /// <summary>Augmentation: random crop after zero padding by this many pixels (0 = off).</summary>
    public int CropPadding { get; init; }
    /// <summary>Augmentation: random horizontal flip.</summary>
    public bool HorizontalFlip { get; init; }
    /// <summary>Seeds initialisation, data order, augmentation, dropout and the methods' randomness.</summary>
    public ulong Seed { get; init; }
    /// <summary>Folder with MNIST-format IDX files (null: Debian's Fashion-MNIST).</summary>
    public string? DataDir { get; init; }
    /// <summary>Use only the first N training examples (0 = all).</summary>
    public int TrainLimit { get; init; }
    /// <summary>Use only the first N test examples (0 = all).</summary>
    public int TestLimit { get; init; }
    /// <summary>cpu or cuda[:N].</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Start from these weights (a model.safetensors of the same model) instead of a fresh initialisation: fine-tuning,
    /// e.g. with KURE (null = fresh).</summary>
    public string? InitFrom { get; init; }
    /// <summary>Run folder for config, metrics, TensorBoard events and checkpoints (null = none).</summary>
    public string? Out { get; init; }

    /// <summary>Rejects impossible settings up front, naming the key (<see cref="OptionException"/>).</summary>
    public TrainOptions Validate()
    {
        // JSON can set any of these to null.
        OptionException.Require(ModelOptions != null, "model_options", "must be a section (an object), not null");
        OptionException.Require(Device != null, "device", "must be cpu, cuda or cuda:N, not null");
        OptionException.Require(ModelOptions.Classes >= 1, "model_options.classes", $"must be at least 1, got {ModelOptions.Classes}");
        OptionException.Require(ModelOptions.Width >= 0, "model_options.width", $"must be ≥ 0 (0 = the model's default), got {ModelOptions.Width}");
        OptionException.Require(ModelOptions.Depth >= 0, "model_options.depth", $"must be ≥ 0 (0 = the model's default), got {ModelOptions.Depth}");
        OptionException.Require(ModelOptions.Hidden?.All(h => h >= 1) ?? true, "model_options.hidden", $"widths must be at least 1, got [{string.Join(", ", ModelOptions.Hidden ?? [])}]");
        OptionException.Require(Array.IndexOf(ModelZoo.Names, Model) >= 0, "model", $"unknown model '{Model}' (choose one of {string.Join(", ", ModelZoo.Names)})");
        OptionException.Require(Epochs >= 1, "epochs", $"must be at least 1, got {Epochs}");
        OptionException.Require(BatchSize >= 1, "batch_size", $"must be at least 1, got {BatchSize}");
        OptionException.Require(LearningRate > 0 && double.IsFinite(LearningRate), "learning_rate", $"must be positive, got {LearningRate}");
        OptionException.Require(Momentum >= 0 && Momentum < 1, "momentum", $"must be in [0, 1), got {Momentum}");
        OptionException.Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), "weight_decay", $"must be ≥ 0, got {WeightDecay}");
        OptionException.Require(WarmupEpochs >= 0 && WarmupEpochs <= Epochs, "warmup_epochs", $"must be in [0, epochs = {Epochs}], got {WarmupEpochs}");
        OptionException.Require(StepEpochs >= 1, "step_epochs", $"must be at least 1, got {StepEpochs}");
        OptionException.Require(StepGamma > 0 && StepGamma <= 1, "step_gamma", $"must be in (0, 1], got {StepGamma}");
        OptionException.Require(LabelSmoothing >= 0 && LabelSmoothing < 1, "label_smoothing", $"must be in [0, 1), got {LabelSmoothing}");
        OptionException.Require(ClipGradNorm >= 0 && double.IsFinite(ClipGradNorm), "clip_grad_norm", $"must be ≥ 0 (0 = off), got {ClipGradNorm}");
        OptionException.Require(BnRecalibrate >= 0, "bn_recalibrate", $"must be ≥ 0 batches (0 = off), got {BnRecalibrate}");
        OptionException.Require(CropPadding >= 0, "crop_padding", $"must be ≥ 0, got {CropPadding}");
        OptionException.Require(TrainLimit >= 0, "train_limit", $"must be ≥ 0 (0 = all), got {TrainLimit}");
        OptionException.Require(InitFrom == null || InitFrom.Length > 0, "init_from", "is empty (give a model.safetensors, or leave it out)");
        OptionException.Require(TestLimit >= 0, "test_limit", $"must be ≥ 0 (0 = all), got {TestLimit}");
        try { Tensors.Device.Parse(Device); }
        catch (ArgumentException) { throw new OptionException("device", $"'{Device}' is not a device (cpu, cuda or cuda:N)"); }
        ValidateHead();
        ValidateMethods();
        ValidateDistributed();
        ValidatePartitions();
        ValidateLayerwise();
        return this;
    }

    /// <summary>Reads a JSON run config; unknown keys, wrong types and impossible values are errors naming
    /// <paramref name="source"/> and the key.</summary>
    public static TrainOptions FromJson(string json, string source)
    {
        var o = OptionsJson.Read<TrainOptions>(json, source);
        try { return o.Validate(); }
        catch (OptionException e) { throw new InvalidDataException($"{source}: {e.Message}", e); }
    }

    public string ToJson() => OptionsJson.Write(this);
}
