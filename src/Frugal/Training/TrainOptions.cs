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

    // ---- neural-gradient compression (METHODS.md §1) ---------------------------------------

    /// <summary>Target sparsity of the neural gradients of conv/linear outputs (0 = off), e.g. 0.85.</summary>
    public double GradPrune { get; init; }
    /// <summary>stochastic (unbiased, the paper's), deterministic (hard threshold) or topk (magnitude).</summary>
    public string GradPruneMode { get; init; } = "stochastic";
    /// <summary>lognormal (the paper's closed-form threshold from the fitted μ, σ) or empirical (the same sparsity
    /// equation solved on a sample of the gradient: exact whatever the distribution).</summary>
    public string GradPruneThreshold { get; init; } = "lognormal";
    /// <summary>uniform (every layer at the target) or cosine (per-layer sparsity under cosine floors, same global budget).</summary>
    public string GradPruneAlloc { get; init; } = "uniform";
    /// <summary>cosine allocation: the cosine-similarity floor of the protected (later) layers.</summary>
    public double CosFloor { get; init; } = 0.95;
    /// <summary>cosine allocation: no layer is pruned beyond this sparsity.</summary>
    public double GradPruneMaxSparsity { get; init; } = 0.9;
    /// <summary>step (re-estimate thresholds every step) or epoch (the reference code: half an epoch dense,
    /// then thresholds from two batches, frozen for the epoch).</summary>
    public string GradPruneSchedule { get; init; } = "step";
    /// <summary>Low-bit floating-point neural gradients: fpN (N bits, exponent bits fitted), eXmY, e4m3fn (null = off).</summary>
    public string? GradFormat { get; init; }
    /// <summary>nearest (round to nearest even) or stochastic.</summary>
    public string GradRounding { get; init; } = "nearest";
    /// <summary>layer (scale 2^(−μ̄₂−3) per layer) or global (one scale for all layers).</summary>
    public string GradScale { get; init; } = "layer";

    // ---- approximate tensor operations (METHODS.md §2) ----------------------------------------

    /// <summary>Column-row sampling in conv/linear layers: crs, bernoulli or topk (null = exact).</summary>
    public string? Approx { get; init; }
    /// <summary>Fraction of columns/rows (channels) kept, k = max(min-k, ⌊keep·n⌋).</summary>
    public double Keep { get; init; } = 0.5;
    /// <summary>forward (sample in the forward pass; all three GEMMs shrink), backward, or hybrid.</summary>
    public string ApproxMode { get; init; } = "forward";
    /// <summary>Never keep fewer than this many columns/rows (the reference's minimal_k).</summary>
    public int ApproxMinK { get; init; } = 10;
    /// <summary>Which layers: null = every conv/linear except the first and the classifier; otherwise
    /// comma-separated layer names (as in the state dict, e.g. "3,7.conv1") or "all".</summary>
    public string? ApproxLayers { get; init; }
    /// <summary>The reference code's ε-uniform mix (0.1 there; 0 = the paper's optimal probabilities): CRS draws from
    /// (1 − ε)·a/Σa + ε/n; Bernoulli uses the reference's clip min(1, k·a/Σa) mixed the same way instead of water-filling.</summary>
    public double ApproxEpsilon { get; init; }

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
        if (GradPrune is < 0 or >= 1 || double.IsNaN(GradPrune)) throw new ArgumentException($"--grad-prune: sparsity must be in [0, 1), got {GradPrune}");
        if (GradPruneMode is not ("stochastic" or "deterministic" or "topk")) throw new ArgumentException($"--grad-prune-mode: unknown mode '{GradPruneMode}' (stochastic, deterministic, topk)");
        if (GradPruneThreshold is not ("lognormal" or "empirical")) throw new ArgumentException($"--grad-prune-threshold: unknown threshold '{GradPruneThreshold}' (lognormal, empirical)");
        if (GradPruneAlloc is not ("uniform" or "cosine")) throw new ArgumentException($"--grad-prune-alloc: unknown allocation '{GradPruneAlloc}' (uniform, cosine)");
        if (CosFloor is <= 0 or > 1) throw new ArgumentException($"--cos-floor: must be in (0, 1], got {CosFloor}");
        if (GradPruneMaxSparsity is <= 0 or >= 1) throw new ArgumentException($"--grad-prune-max-sparsity: must be in (0, 1), got {GradPruneMaxSparsity}");
        if (GradPruneSchedule is not ("step" or "epoch")) throw new ArgumentException($"--grad-prune-schedule: unknown schedule '{GradPruneSchedule}' (step, epoch)");
        if (GradRounding is not ("nearest" or "stochastic")) throw new ArgumentException($"--grad-rounding: unknown rounding '{GradRounding}' (nearest, stochastic)");
        if (GradScale is not ("layer" or "global")) throw new ArgumentException($"--grad-scale: unknown scale '{GradScale}' (layer, global)");
        if (Approx is not (null or "crs" or "bernoulli" or "topk")) throw new ArgumentException($"--approx: unknown sampler '{Approx}' (crs, bernoulli, topk)");
        if (Keep is <= 0 or > 1 || double.IsNaN(Keep)) throw new ArgumentException($"--keep: must be in (0, 1], got {Keep}");
        if (ApproxMode is not ("forward" or "backward" or "hybrid")) throw new ArgumentException($"--approx-mode: unknown mode '{ApproxMode}' (forward, backward, hybrid)");
        if (ApproxEpsilon is < 0 or >= 1 || double.IsNaN(ApproxEpsilon)) throw new ArgumentException($"--approx-epsilon: must be in [0, 1), got {ApproxEpsilon}");
        if (ApproxMinK < 1) throw new ArgumentException($"--approx-min-k: must be at least 1, got {ApproxMinK}");
        Tensors.Device.Parse(Device);
        return this;
    }
}
