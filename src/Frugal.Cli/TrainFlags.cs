using System.CommandLine;
using Frugal.Training;

namespace Frugal.Cli;

/// <summary>
/// The one place where `frugal train` flags map to <see cref="TrainOptions"/>. Each flag's default is read
/// from a default TrainOptions, so --help, JSON configs and the library always agree.
/// </summary>
static class TrainFlags
{
    interface IFlag
    {
        Option Option { get; }
        TrainOptions Apply(ParseResult result, TrainOptions options);
    }

    sealed class Flag<T> : IFlag
    {
        readonly Option<T> _option;
        readonly Func<TrainOptions, T, TrainOptions> _set;
        public Option Option => _option;

        public Flag(string name, string description, Func<TrainOptions, T> get, Func<TrainOptions, T, TrainOptions> set)
        {
            var def = get(new TrainOptions());
            _option = new Option<T>(name) { Description = description, DefaultValueFactory = _ => def };
            _set = set;
        }

        /// <summary>Only a flag given on the command line overrides the config file.</summary>
        public TrainOptions Apply(ParseResult result, TrainOptions options)
        {
            var r = result.GetResult(_option);
            return r == null || r.Implicit ? options : _set(options, result.GetValue(_option)!);
        }
    }

    static readonly IFlag[] Flags =
    [
        new Flag<string>("--model", "Model: mlp, cnn, lenet or resnet", o => o.Model, (o, v) => o with { Model = v }),
        new Flag<int>("--epochs", "Training epochs", o => o.Epochs, (o, v) => o with { Epochs = v }),
        new Flag<int>("--batch-size", "Mini-batch size", o => o.BatchSize, (o, v) => o with { BatchSize = v }),
        new Flag<string>("--optimizer", "Optimizer: sgd, adam or adamw", o => o.Optimizer, (o, v) => o with { Optimizer = v }),
        new Flag<double>("--lr", "Learning rate", o => o.LearningRate, (o, v) => o with { LearningRate = v }),
        new Flag<double>("--momentum", "SGD momentum", o => o.Momentum, (o, v) => o with { Momentum = v }),
        new Flag<bool>("--nesterov", "Nesterov momentum (SGD)", o => o.Nesterov, (o, v) => o with { Nesterov = v }),
        new Flag<double>("--weight-decay", "Weight decay (L2 for sgd/adam, decoupled for adamw)", o => o.WeightDecay, (o, v) => o with { WeightDecay = v }),
        new Flag<string>("--schedule", "Learning-rate schedule: constant, step or cosine", o => o.Schedule, (o, v) => o with { Schedule = v }),
        new Flag<double>("--warmup-epochs", "Linear learning-rate warm-up, in epochs", o => o.WarmupEpochs, (o, v) => o with { WarmupEpochs = v }),
        new Flag<int>("--step-epochs", "step schedule: epochs between decays", o => o.StepEpochs, (o, v) => o with { StepEpochs = v }),
        new Flag<double>("--step-gamma", "step schedule: decay factor", o => o.StepGamma, (o, v) => o with { StepGamma = v }),
        new Flag<float>("--label-smoothing", "Label smoothing of the cross-entropy loss", o => o.LabelSmoothing, (o, v) => o with { LabelSmoothing = v }),
        new Flag<double>("--clip-grad-norm", "Clip the global gradient L2 norm to this value (0 = off)", o => o.ClipGradNorm, (o, v) => o with { ClipGradNorm = v }),
        new Flag<int>("--crop-padding", "Augmentation: random crop after zero padding by this many pixels (0 = off)", o => o.CropPadding, (o, v) => o with { CropPadding = v }),
        new Flag<bool>("--flip", "Augmentation: random horizontal flip", o => o.HorizontalFlip, (o, v) => o with { HorizontalFlip = v }),
        new Flag<ulong>("--seed", "Random seed (initialisation, shuffling, dropout, augmentation)", o => o.Seed, (o, v) => o with { Seed = v }),
        new Flag<string?>("--data-dir", "Folder of MNIST-format IDX files (default: Debian's Fashion-MNIST in /usr/share/datasets/fashion-mnist)", o => o.DataDir, (o, v) => o with { DataDir = v }),
        new Flag<int>("--train-limit", "Use only the first N training examples (0 = all)", o => o.TrainLimit, (o, v) => o with { TrainLimit = v }),
        new Flag<int>("--test-limit", "Use only the first N test examples (0 = all)", o => o.TestLimit, (o, v) => o with { TestLimit = v }),
        new Flag<string>("--device", "Device: cpu or cuda[:N]", o => o.Device, (o, v) => o with { Device = v }),
        new Flag<string?>("--out", "Run folder: config.json, metrics.jsonl, TensorBoard events, checkpoints", o => o.Out, (o, v) => o with { Out = v }),
        new Flag<int[]>("--hidden", "mlp: hidden layer widths, e.g. --hidden 1024 1024", o => o.ModelOptions.HiddenOrDefault,
            (o, v) => o with { ModelOptions = o.ModelOptions with { Hidden = v } }),
        new Flag<int>("--width", "cnn/resnet: channels of the first stage (0 = model default: cnn 32, resnet 16)", o => o.ModelOptions.Width,
            (o, v) => o with { ModelOptions = o.ModelOptions with { Width = v } }),
        new Flag<int>("--depth", "resnet: residual blocks per stage (0 = default 2)", o => o.ModelOptions.Depth,
            (o, v) => o with { ModelOptions = o.ModelOptions with { Depth = v } }),
        new Flag<double>("--grad-prune", "Prune neural gradients of conv/linear outputs to this sparsity, e.g. 0.85 (0 = off)", o => o.GradPrune, (o, v) => o with { GradPrune = v }),
        new Flag<string>("--grad-prune-mode", "Gradient pruning: stochastic (unbiased), deterministic (threshold) or topk", o => o.GradPruneMode, (o, v) => o with { GradPruneMode = v }),
        new Flag<string>("--grad-prune-threshold", "Gradient pruning threshold: lognormal (paper's closed form) or empirical (solved on a sample of the gradient)", o => o.GradPruneThreshold, (o, v) => o with { GradPruneThreshold = v }),
        new Flag<string>("--grad-prune-alloc", "Per-layer sparsity: uniform, or cosine (cosine-similarity floors, same global sparsity)", o => o.GradPruneAlloc, (o, v) => o with { GradPruneAlloc = v }),
        new Flag<double>("--cos-floor", "cosine allocation: minimum cosine similarity of protected layers", o => o.CosFloor, (o, v) => o with { CosFloor = v }),
        new Flag<double>("--grad-prune-max-sparsity", "cosine allocation: cap on any layer's sparsity", o => o.GradPruneMaxSparsity, (o, v) => o with { GradPruneMaxSparsity = v }),
        new Flag<string>("--grad-prune-schedule", "Thresholds: step (re-estimated every step) or epoch (reference code: dense half epoch, then per-epoch)", o => o.GradPruneSchedule, (o, v) => o with { GradPruneSchedule = v }),
        new Flag<string?>("--grad-format", "Low-bit FP neural gradients: fpN (exponent bits fitted), eXmY, e4m3fn (default: off)", o => o.GradFormat, (o, v) => o with { GradFormat = v }),
        new Flag<string>("--grad-rounding", "Low-bit gradients: nearest (even) or stochastic rounding", o => o.GradRounding, (o, v) => o with { GradRounding = v }),
        new Flag<string>("--grad-scale", "Low-bit gradients: layer (per-layer scale 2^(-mean log2|g|-3)) or global", o => o.GradScale, (o, v) => o with { GradScale = v }),
        new Flag<string?>("--approx", "Column-row sampling in conv/linear layers: crs, bernoulli or topk (default: exact)", o => o.Approx, (o, v) => o with { Approx = v }),
        new Flag<double>("--keep", "Column-row sampling: fraction of columns/channels kept", o => o.Keep, (o, v) => o with { Keep = v }),
        new Flag<string>("--approx-mode", "Column-row sampling: forward, backward or hybrid", o => o.ApproxMode, (o, v) => o with { ApproxMode = v }),
        new Flag<int>("--approx-min-k", "Column-row sampling: keep at least this many columns", o => o.ApproxMinK, (o, v) => o with { ApproxMinK = v }),
        new Flag<string?>("--approx-layers", "Column-row sampling: layer names, comma-separated, each optionally name=keep, or all (default: all but the first and the classifier)", o => o.ApproxLayers, (o, v) => o with { ApproxLayers = v }),
        new Flag<double>("--approx-epsilon", "Column-row sampling: mix the sampling distribution with this much uniform, as the reference code (0.1 there; 0 = optimal/water-filling)", o => o.ApproxEpsilon, (o, v) => o with { ApproxEpsilon = v }),
    ];

    public static void AddTo(Command command)
    {
        foreach (var f in Flags) command.Options.Add(f.Option);
    }

    public static TrainOptions Read(ParseResult result, TrainOptions start)
    {
        foreach (var f in Flags) start = f.Apply(result, start);
        return start;
    }
}
