using Frugal.Models;

namespace Frugal.Training;

/// <summary>
/// Everything a training run is configured by. The CLI maps its flags here in one place and JSON run
/// configs (`--config`) deserialise into it, so --help, configs and the library cannot drift apart.
/// Defaults reproduce the PyTorch reference recipe (../shared/bench/torch_fashion.py).
/// </summary>
public sealed record TrainOptions
{
    /// <summary>mlp, cnn, lenet or resnet.</summary>
    public string Model { get; init; } = "cnn";
    public ModelOptions ModelOptions { get; init; } = new();
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    /// <summary>sgd, adam or adamw.</summary>
    public string Optimizer { get; init; } = "sgd";
    public double LearningRate { get; init; } = 0.05;
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; }
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>constant, step, or cosine (per optimisation step).</summary>
    public string Schedule { get; init; } = "constant";
    /// <summary>Linear learning-rate warm-up over this many epochs (from lr/3, as PyTorch's LinearLR), then the schedule.</summary>
    public double WarmupEpochs { get; init; }
    /// <summary>step schedule: multiply by <see cref="StepGamma"/> every <see cref="StepEpochs"/> epochs.</summary>
    public int StepEpochs { get; init; } = 30;
    public double StepGamma { get; init; } = 0.1;
    public float LabelSmoothing { get; init; }
    /// <summary>Clip the global gradient norm to this value (0 = off).</summary>
    public double ClipGradNorm { get; init; }
    /// <summary>Random-crop padding for augmentation (0 = off).</summary>
    public int CropPadding { get; init; }
    public bool HorizontalFlip { get; init; }
    public ulong Seed { get; init; }
    /// <summary>Folder with MNIST-format IDX files (default: Debian's Fashion-MNIST).</summary>
    public string? DataDir { get; init; }
    /// <summary>Use only the first N training examples (0 = all).</summary>
    public int TrainLimit { get; init; }
    /// <summary>Use only the first N test examples (0 = all).</summary>
    public int TestLimit { get; init; }
    /// <summary>cpu or cuda[:N].</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Run folder for config, metrics, TensorBoard events and checkpoints (null = none).</summary>
    public string? Out { get; init; }

    /// <summary>Rejects impossible settings up front, naming the setting.</summary>
    public TrainOptions Validate()
    {
        if (Array.IndexOf(ModelZoo.Names, Model) < 0) throw new ArgumentException($"--model: unknown model '{Model}' (choose one of {string.Join(", ", ModelZoo.Names)})");
        if (Epochs < 1) throw new ArgumentException($"--epochs: must be at least 1, got {Epochs}");
        if (BatchSize < 1) throw new ArgumentException($"--batch-size: must be at least 1, got {BatchSize}");
        if (LearningRate <= 0 || double.IsNaN(LearningRate)) throw new ArgumentException($"--lr: must be positive, got {LearningRate}");
        if (Optimizer is not ("sgd" or "adam" or "adamw")) throw new ArgumentException($"--optimizer: unknown optimizer '{Optimizer}' (sgd, adam, adamw)");
        if (Schedule is not ("constant" or "step" or "cosine")) throw new ArgumentException($"--schedule: unknown schedule '{Schedule}' (constant, step, cosine)");
        if (LabelSmoothing is < 0 or >= 1) throw new ArgumentException($"--label-smoothing: must be in [0, 1), got {LabelSmoothing}");
        if (CropPadding < 0) throw new ArgumentException($"--crop-padding: must be ≥ 0, got {CropPadding}");
        Tensors.Device.Parse(Device);
        return this;
    }
}
