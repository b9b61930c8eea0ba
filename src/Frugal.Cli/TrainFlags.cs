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
