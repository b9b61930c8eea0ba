using System.CommandLine;
using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Distributed.Stragglers;
using Frugal.Methods.Approximate;
using Frugal.Methods.Compression;
using Frugal.Methods.LocalLearning;
using Frugal.Methods.OutputHeads;
using Frugal.Methods.Entropy;
using Frugal.Methods.Robustness;
using Frugal.Ops;
using Frugal.Options;
using Frugal.Runs;

namespace Frugal.Cli;

/// <summary>
/// The one place where `frugal train` flags map to <see cref="TrainOptions"/> keys. Each flag's default is read from a
/// default TrainOptions (or the method's default options record), and the allowed values of a choice from its enum, so
/// --help, JSON configs and the library always agree. The library's errors name keys; <see cref="FlagFor"/> turns a
/// key back into the flag the user typed.
/// </summary>
static class TrainFlags
{
    interface IFlag
    {
        Option Option { get; }
        string Key { get; }
        TrainOptions Apply(ParseResult result, TrainOptions options);
    }

    sealed class Flag<T> : IFlag
    {
        readonly Option<T> _option;
        readonly Func<TrainOptions, T, TrainOptions> _set;
        public Option Option => _option;
        public string Key { get; }

        public Flag(string name, string key, string description, Func<TrainOptions, T> get, Func<TrainOptions, T, TrainOptions> set)
        {
            var def = get(new TrainOptions());
            // A list flag takes its values after one name ("--hidden 1024 1024"), as its help says.
            _option = new Option<T>(name) { Description = description, DefaultValueFactory = _ => def, AllowMultipleArgumentsPerToken = typeof(T).IsArray };
            _set = set;
            Key = key;
        }

        /// <summary>Only a flag given on the command line overrides the config file.</summary>
        public TrainOptions Apply(ParseResult result, TrainOptions options)
        {
            var r = result.GetResult(_option);
            return r == null || r.Implicit ? options : _set(options, result.GetValue(_option)!);
        }
    }

    /// <summary>A choice among an enum's names, parsed (and refused) under <paramref name="key"/>.</summary>
    static Flag<string> Choice<TEnum>(string name, string key, string description, Func<TrainOptions, TEnum> get,
        Func<TrainOptions, TEnum, TrainOptions> set) where TEnum : struct, Enum =>
        new(name, key, $"{description}: {string.Join(", ", EnumNames<TEnum>.All)}", o => EnumNames<TEnum>.Name(get(o)),
            (o, v) => set(o, EnumNames<TEnum>.Parse(v, key)));

    // A method's own flags refine its section, so they need the flag (or config section) that switches it on.
    static GradPruneOptions Pruning(TrainOptions o, string flag) => o.GradPrune
        ?? throw new ArgumentException($"{flag} needs --grad-prune (or a grad_prune section in --config)");
    static LowBitGradientsOptions LowBit(TrainOptions o, string flag) => o.GradFormat
        ?? throw new ArgumentException($"{flag} needs --grad-format (or a grad_format section in --config)");
    static ApproxOptions Sampling(TrainOptions o, string flag) => o.Approx
        ?? throw new ArgumentException($"{flag} needs --approx (or an approx section in --config)");
    static KureOptions Regularising(TrainOptions o, string flag) => o.Kure
        ?? throw new ArgumentException($"{flag} needs --kure (or a kure section in --config)");
    static QatOptions Quantising(TrainOptions o, string flag) => o.Qat
        ?? throw new ArgumentException($"{flag} needs --qat-bits (or a qat section in --config)");
    static DropComputeOptions Dropping(TrainOptions o, string flag) => o.DropCompute
        ?? throw new ArgumentException($"{flag} needs --drop-compute, --drop-rate or --straggler-delay (or a drop_compute section in --config)");
    static EntropyReportOptions Reporting(TrainOptions o, string flag) => o.EntropyReport
        ?? throw new ArgumentException($"{flag} needs --entropy-report (or an entropy_report section in --config)");
    static GradientExchangeOptions Exchanging(TrainOptions o, string flag) => o.Exchange
        ?? throw new ArgumentException($"{flag} needs --compress (or an exchange section in --config)");
    static PartitionOptions Partitioning(TrainOptions o, string flag) => o.Partitions
        ?? throw new ArgumentException($"{flag} needs --partitions (or a partitions section in --config)");
    static readonly PartitionOptions PartitionDefaults = new();
    static HeadOptions Heading(TrainOptions o, string flag) => o.Head
        ?? throw new ArgumentException($"{flag} needs --head (or a head section in --config)");
    static readonly HeadOptions HeadDefaults = new();
    static LayerwiseOptions Layering(TrainOptions o, string flag) => o.Layerwise
        ?? throw new ArgumentException($"{flag} needs --layerwise (or a layerwise section in --config)");
    static readonly DataParallelOptions ParallelDefaults = new();
    static readonly LayerwiseOptions LayerwiseDefaults = new();
    static readonly DropComputeOptions DropDefaults = new();
    static readonly GradPruneOptions PruneDefaults = new();
    static readonly LowBitGradientsOptions LowBitDefaults = new();
    static readonly ApproxOptions ApproxDefaults = new();
    static readonly KureOptions KureDefaults = new();
    static readonly QatOptions QatDefaults = new();
    static readonly EntropyReportOptions ReportDefaults = new();

    static readonly IFlag[] Flags =
    [
        new Flag<string>("--model", "model", "Model: mlp, cnn, lenet or resnet", o => o.Model, (o, v) => o with { Model = v }),
        new Flag<int>("--epochs", "epochs", "Training epochs", o => o.Epochs, (o, v) => o with { Epochs = v }),
        new Flag<int>("--batch-size", "batch_size", "Mini-batch size", o => o.BatchSize, (o, v) => o with { BatchSize = v }),
        Choice<OptimizerKind>("--optimizer", "optimizer", "Optimizer", o => o.Optimizer, (o, v) => o with { Optimizer = v }),
        new Flag<double>("--lr", "learning_rate", "Learning rate", o => o.LearningRate, (o, v) => o with { LearningRate = v }),
        new Flag<double>("--momentum", "momentum", "SGD momentum", o => o.Momentum, (o, v) => o with { Momentum = v }),
        new Flag<bool>("--nesterov", "nesterov", "Nesterov momentum (SGD)", o => o.Nesterov, (o, v) => o with { Nesterov = v }),
        new Flag<double>("--weight-decay", "weight_decay", "Weight decay (L2 for sgd/adam, decoupled for adamw)", o => o.WeightDecay, (o, v) => o with { WeightDecay = v }),
        Choice<ScheduleKind>("--schedule", "schedule", "Learning-rate schedule", o => o.Schedule, (o, v) => o with { Schedule = v }),
        new Flag<double>("--warmup-epochs", "warmup_epochs", "Linear learning-rate warm-up, in epochs", o => o.WarmupEpochs, (o, v) => o with { WarmupEpochs = v }),
        new Flag<int>("--step-epochs", "step_epochs", "step schedule: epochs between decays", o => o.StepEpochs, (o, v) => o with { StepEpochs = v }),
        new Flag<double>("--step-gamma", "step_gamma", "step schedule: decay factor", o => o.StepGamma, (o, v) => o with { StepGamma = v }),
        new Flag<float>("--label-smoothing", "label_smoothing", "Label smoothing of the cross-entropy loss", o => o.LabelSmoothing, (o, v) => o with { LabelSmoothing = v }),
        new Flag<double>("--clip-grad-norm", "clip_grad_norm", "Clip the global gradient L2 norm to this value (0 = off)", o => o.ClipGradNorm, (o, v) => o with { ClipGradNorm = v }),
        new Flag<int>("--bn-recalibrate", "bn_recalibrate", "Before each evaluation, re-estimate the batch norms' running statistics from this many training batches (exact forward, no gradients, as PyTorch's update_bn; 0 = off)", o => o.BnRecalibrate, (o, v) => o with { BnRecalibrate = v }),
        new Flag<int>("--crop-padding", "crop_padding", "Augmentation: random crop after zero padding by this many pixels (0 = off)", o => o.CropPadding, (o, v) => o with { CropPadding = v }),
        new Flag<bool>("--flip", "horizontal_flip", "Augmentation: random horizontal flip", o => o.HorizontalFlip, (o, v) => o with { HorizontalFlip = v }),
        new Flag<ulong>("--seed", "seed", "Random seed (initialisation, shuffling, dropout, augmentation, methods)", o => o.Seed, (o, v) => o with { Seed = v }),
        new Flag<string?>("--data-dir", "data_dir", "Folder of MNIST-format IDX files (default: Debian's Fashion-MNIST in /usr/share/datasets/fashion-mnist)", o => o.DataDir, (o, v) => o with { DataDir = v }),
        new Flag<int>("--train-limit", "train_limit", "Use only the first N training examples (0 = all)", o => o.TrainLimit, (o, v) => o with { TrainLimit = v }),
        new Flag<int>("--test-limit", "test_limit", "Use only the first N test examples (0 = all)", o => o.TestLimit, (o, v) => o with { TestLimit = v }),
        new Flag<string>("--device", "device", "Device: cpu or cuda[:N]", o => o.Device, (o, v) => o with { Device = v }),
        new Flag<string?>("--init-from", "init_from", "Start from the weights of this model.safetensors (fine-tuning) instead of a fresh initialisation", o => o.InitFrom, (o, v) => o with { InitFrom = v }),
        new Flag<string?>("--out", "out", "Run folder: config.json, metrics.jsonl, TensorBoard events, checkpoints", o => o.Out, (o, v) => o with { Out = v }),
        new Flag<int[]>("--hidden", "model_options.hidden", "mlp: hidden layer widths, e.g. --hidden 1024 1024", o => o.ModelOptions.HiddenOrDefault,
            (o, v) => o with { ModelOptions = o.ModelOptions with { Hidden = v } }),
        Choice<Nn.ActivationKind>("--activation", "model_options.activation", "mlp: activation after each hidden layer", o => o.ModelOptions.Activation,
            (o, v) => o with { ModelOptions = o.ModelOptions with { Activation = v } }),
        new Flag<int>("--width", "model_options.width", "cnn/resnet: channels of the first stage (0 = model default: cnn 32, resnet 16)", o => o.ModelOptions.Width,
            (o, v) => o with { ModelOptions = o.ModelOptions with { Width = v } }),
        new Flag<int>("--depth", "model_options.depth", "resnet: residual blocks per stage (0 = default 2)", o => o.ModelOptions.Depth,
            (o, v) => o with { ModelOptions = o.ModelOptions with { Depth = v } }),

        new Flag<double>("--grad-prune", "grad_prune.sparsity", "Prune neural gradients of conv/linear outputs to this sparsity, e.g. 0.85 (0 = off)",
            o => o.GradPrune?.Sparsity ?? 0, (o, v) => o with { GradPrune = v == 0 ? null : (o.GradPrune ?? new()) with { Sparsity = v } }),
        Choice<GradPruneMode>("--grad-prune-mode", "grad_prune.mode", "Gradient pruning: stochastic (unbiased), deterministic (threshold) or topk",
            o => (o.GradPrune ?? PruneDefaults).Mode, (o, v) => o with { GradPrune = Pruning(o, "--grad-prune-mode") with { Mode = v } }),
        Choice<GradPruneThreshold>("--grad-prune-threshold", "grad_prune.threshold", "Gradient pruning threshold: lognormal (paper's closed form) or empirical (solved on a sample of the gradient)",
            o => (o.GradPrune ?? PruneDefaults).Threshold, (o, v) => o with { GradPrune = Pruning(o, "--grad-prune-threshold") with { Threshold = v } }),
        Choice<GradPruneAllocation>("--grad-prune-alloc", "grad_prune.allocation", "Per-layer sparsity: uniform, or cosine (cosine-similarity floors, same global sparsity)",
            o => (o.GradPrune ?? PruneDefaults).Allocation, (o, v) => o with { GradPrune = Pruning(o, "--grad-prune-alloc") with { Allocation = v } }),
        new Flag<double>("--cos-floor", "grad_prune.cos_floor", "cosine allocation: minimum cosine similarity of protected layers",
            o => (o.GradPrune ?? PruneDefaults).CosFloor, (o, v) => o with { GradPrune = Pruning(o, "--cos-floor") with { CosFloor = v } }),
        new Flag<double>("--grad-prune-max-sparsity", "grad_prune.max_sparsity", "cosine allocation: cap on any layer's sparsity",
            o => (o.GradPrune ?? PruneDefaults).MaxSparsity, (o, v) => o with { GradPrune = Pruning(o, "--grad-prune-max-sparsity") with { MaxSparsity = v } }),
        Choice<GradPruneSchedule>("--grad-prune-schedule", "grad_prune.schedule", "Thresholds: step (re-estimated every --grad-prune-refit steps) or epoch (reference code: dense half epoch, then per-epoch)",
            o => (o.GradPrune ?? PruneDefaults).Schedule, (o, v) => o with { GradPrune = Pruning(o, "--grad-prune-schedule") with { Schedule = v } }),
        new Flag<int>("--grad-prune-refit", "grad_prune.refit_interval", "step schedule: re-estimate thresholds every N steps, frozen in between (1 = every step)",
            o => (o.GradPrune ?? PruneDefaults).RefitInterval, (o, v) => o with { GradPrune = Pruning(o, "--grad-prune-refit") with { RefitInterval = v } }),
        new Flag<int>("--grad-prune-fit-sample", "grad_prune.fit_sample_size", "Entries sampled per gradient for the lognormal fit",
            o => (o.GradPrune ?? PruneDefaults).FitSampleSize, (o, v) => o with { GradPrune = Pruning(o, "--grad-prune-fit-sample") with { FitSampleSize = v } }),

        new Flag<string?>("--grad-format", "grad_format.format", "Low-bit FP neural gradients: fpN (exponent bits fitted), eXmY, e4m3fn (default: off)",
            o => o.GradFormat?.Format, (o, v) => o with { GradFormat = v == null ? null : (o.GradFormat ?? new()) with { Format = v } }),
        Choice<Rounding>("--grad-rounding", "grad_format.rounding", "Low-bit gradients: nearest (even) or stochastic rounding",
            o => (o.GradFormat ?? LowBitDefaults).Rounding, (o, v) => o with { GradFormat = LowBit(o, "--grad-rounding") with { Rounding = v } }),
        Choice<LowBitScale>("--grad-scale", "grad_format.scale", "Low-bit gradients: layer (per-layer scale 2^(-mean log2|g|-3)) or global",
            o => (o.GradFormat ?? LowBitDefaults).Scale, (o, v) => o with { GradFormat = LowBit(o, "--grad-scale") with { Scale = v } }),

        new Flag<string?>("--approx", "approx.sampler", $"Column-row sampling in conv/linear layers: {string.Join(", ", EnumNames<SamplerKind>.All)} (default: exact)",
            o => o.Approx == null ? null : EnumNames<SamplerKind>.Name(o.Approx.Sampler),
            (o, v) => o with { Approx = v == null ? null : (o.Approx ?? new()) with { Sampler = EnumNames<SamplerKind>.Parse(v, "approx.sampler") } }),
        new Flag<double>("--keep", "approx.keep", "Column-row sampling: fraction of columns/channels kept",
            o => (o.Approx ?? ApproxDefaults).Keep, (o, v) => o with { Approx = Sampling(o, "--keep") with { Keep = v } }),
        Choice<ApproxMode>("--approx-mode", "approx.mode", "Column-row sampling: where to sample",
            o => (o.Approx ?? ApproxDefaults).Mode, (o, v) => o with { Approx = Sampling(o, "--approx-mode") with { Mode = v } }),
        new Flag<int>("--approx-min-k", "approx.min_k", "Column-row sampling: keep at least this many columns",
            o => (o.Approx ?? ApproxDefaults).MinK, (o, v) => o with { Approx = Sampling(o, "--approx-min-k") with { MinK = v } }),
        new Flag<string?>("--approx-layers", "approx.layers", "Column-row sampling: layer names, comma-separated, each optionally name=keep, all, or auto (keeps chosen by measured cost and predicted error on the first batch) (default: all but the first and the classifier)",
            o => (o.Approx ?? ApproxDefaults).Layers, (o, v) => o with { Approx = Sampling(o, "--approx-layers") with { Layers = v } }),
        new Flag<double>("--approx-epsilon", "approx.epsilon", "Column-row sampling: mix the sampling distribution with this much uniform, as the reference code (0.1 there; 0 = optimal/water-filling)",
            o => (o.Approx ?? ApproxDefaults).Epsilon, (o, v) => o with { Approx = Sampling(o, "--approx-epsilon") with { Epsilon = v } }),
        new Flag<double>("--approx-error-budget", "approx.error_budget", "Column-row sampling, --approx-layers auto: largest sum over layers of the predicted relative output errors",
            o => (o.Approx ?? ApproxDefaults).ErrorBudget, (o, v) => o with { Approx = Sampling(o, "--approx-error-budget") with { ErrorBudget = v } }),
        new Flag<double>("--approx-min-saving", "approx.min_saving", "Column-row sampling, --approx-layers auto: sample a layer only if that saves this fraction of the candidates' exact time",
            o => (o.Approx ?? ApproxDefaults).MinSaving, (o, v) => o with { Approx = Sampling(o, "--approx-min-saving") with { MinSaving = v } }),

        new Flag<double>("--kure", "kure.lambda", "KURE: add LAMBDA·mean over layers of (kurtosis − target)² of the conv/linear weights to the loss (0 = off)",
            o => o.Kure?.Lambda ?? 0, (o, v) => o with { Kure = v == 0 ? null : (o.Kure ?? new()) with { Lambda = v } }),
        new Flag<double>("--kurtosis-target", "kure.kurtosis_target", "KURE: target kurtosis K_T (uniform 1.8, Gaussian 3, Laplace 6)",
            o => (o.Kure ?? KureDefaults).KurtosisTarget, (o, v) => o with { Kure = Regularising(o, "--kurtosis-target") with { KurtosisTarget = v } }),
        new Flag<string?>("--kure-layers", "kure.layers", "KURE: layer names, comma-separated, or all (default: every conv/linear but the first)",
            o => (o.Kure ?? KureDefaults).Layers, (o, v) => o with { Kure = Regularising(o, "--kure-layers") with { Layers = v } }),
        new Flag<bool>("--kure-conv-only", "kure.conv_only", "KURE: conv weights only, after the first conv (the reference code's choice)",
            o => (o.Kure ?? KureDefaults).ConvOnly, (o, v) => o with { Kure = Regularising(o, "--kure-conv-only") with { ConvOnly = v } }),
        Choice<KurtosisStd>("--kure-std", "kure.std", "KURE: standard deviation in the kurtosis: population (paper) or unbiased (reference code)",
            o => (o.Kure ?? KureDefaults).Std, (o, v) => o with { Kure = Regularising(o, "--kure-std") with { Std = v } }),
        new Flag<int>("--qat-bits", "qat.bits", "Quantisation-aware training (LSQ learned steps): weight bits of the conv/linear layers (0 = off)",
            o => o.Qat?.Bits ?? 0, (o, v) => o with { Qat = v == 0 ? null : (o.Qat ?? new()) with { Bits = v } }),
        new Flag<int?>("--qat-act-bits", "qat.activation_bits", "QAT: bits of the conv/linear inputs (default: --qat-bits; 0 = float)",
            o => (o.Qat ?? QatDefaults).ActivationBits, (o, v) => o with { Qat = Quantising(o, "--qat-act-bits") with { ActivationBits = v } }),
        new Flag<double>("--qat-step-lr", "qat.step_lr", "QAT: learning rate of the quantisation steps",
            o => (o.Qat ?? QatDefaults).StepLr, (o, v) => o with { Qat = Quantising(o, "--qat-step-lr") with { StepLr = v } }),
        new Flag<bool>("--entropy-report", "entropy_report", "PROPOSAL (Øland §4.1): report per layer and epoch the entropy and rANS-coded bits of the quantised weights and updates",
            o => o.EntropyReport != null, (o, v) => o with { EntropyReport = v ? o.EntropyReport ?? new() : null }),
        new Flag<int>("--entropy-report-bits", "entropy_report.bits", "Entropy report: b of the RMS-relative step 3·RMS/2^(b-1)",
            o => (o.EntropyReport ?? ReportDefaults).Bits, (o, v) => o with { EntropyReport = Reporting(o, "--entropy-report-bits") with { Bits = v } }),
        new Flag<double>("--entropy-report-weight-step", "entropy_report.weight_step", "Entropy report: fixed quantisation step of the weights",
            o => (o.EntropyReport ?? ReportDefaults).WeightStep, (o, v) => o with { EntropyReport = Reporting(o, "--entropy-report-weight-step") with { WeightStep = v } }),
        new Flag<double?>("--entropy-report-update-step", "entropy_report.update_step", "Entropy report: fixed quantisation step of the updates (default: per layer 3·RMS_max/2^(b-1), RMS_max the largest one-step update RMS so far)",
            o => (o.EntropyReport ?? ReportDefaults).UpdateStep, (o, v) => o with { EntropyReport = Reporting(o, "--entropy-report-update-step") with { UpdateStep = v } }),
        new Flag<int>("--entropy-report-samples", "entropy_report.update_samples", "Entropy report: one-step updates measured per epoch",
            o => (o.EntropyReport ?? ReportDefaults).UpdateSamples, (o, v) => o with { EntropyReport = Reporting(o, "--entropy-report-samples") with { UpdateSamples = v } }),

        new Flag<string?>("--head", "head.kind", "Output head (METHODS.md §4.2): softmax (cross-entropy), linear-mse, exp (no normaliser), exp-boost (PROPOSAL: error sign(e)(exp(α|e|) − 1)), cube (PROPOSAL: error e³) (default: softmax, without gradient-norm figures)",
            o => o.Head == null ? null : EnumNames<HeadKind>.Name(o.Head.Kind),
            (o, v) => o with { Head = v == null ? null : (o.Head ?? new()) with { Kind = EnumNames<HeadKind>.Parse(v, "head.kind") } }),
        new Flag<double>("--head-alpha", "head.alpha", "exp-boost head: α of the error sign(e)(exp(α|e|) − 1)",
            o => (o.Head ?? HeadDefaults).Alpha, (o, v) => o with { Head = Heading(o, "--head-alpha") with { Alpha = v } }),
        new Flag<double>("--head-clip", "head.clip", "Output head: clip the error e = y − t to [−C, C] before its transform (exp: y ≤ C); the loss continues linearly (0 = no clip)",
            o => (o.Head ?? HeadDefaults).Clip, (o, v) => o with { Head = Heading(o, "--head-clip") with { Clip = v } }),
        new Flag<bool>("--log-grad-norm", "log_grad_norm", "Report the first and last weight's gradient L2 norms per epoch (on with --head)",
            o => o.LogGradNorm, (o, v) => o with { LogGradNorm = v }),

        new Flag<bool>("--layerwise", "layerwise", "PROPOSAL (METHODS.md §4.3): train layer-wise: stage by stage with auxiliary heads, earlier stages frozen",
            o => o.Layerwise != null, (o, v) => o with { Layerwise = v ? o.Layerwise ?? new() : null }),
        new Flag<int>("--aux-depth", "layerwise.aux_depth", "Layer-wise: auxiliary head depth k (0 = pool + linear; k conv3x3-BN-ReLU before it)",
            o => (o.Layerwise ?? LayerwiseDefaults).AuxDepth, (o, v) => o with { Layerwise = (o.Layerwise ?? throw new ArgumentException(
                "--aux-depth needs --layerwise (or a layerwise section in --config); the heads of --partitions take --partition-aux-depth")) with { AuxDepth = v } }),
        new Flag<int>("--stage-epochs", "layerwise.stage_epochs", "Layer-wise: epochs per stage (0 = --epochs split over the stages, the remainder to the earliest)",
            o => (o.Layerwise ?? LayerwiseDefaults).StageEpochs, (o, v) => o with { Layerwise = Layering(o, "--stage-epochs") with { StageEpochs = v } }),
        Choice<ActivationCacheMode>("--cache", "layerwise.cache", "Layer-wise: cache the frozen stages' outputs (auto: when there is no augmentation and they fit --cache-limit-mb)",
            o => (o.Layerwise ?? LayerwiseDefaults).Cache, (o, v) => o with { Layerwise = Layering(o, "--cache") with { Cache = v } }),
        new Flag<double>("--cache-limit-mb", "layerwise.cache_limit_mb", "Layer-wise: the largest cache (train + test features, MiB) auto uses",
            o => (o.Layerwise ?? LayerwiseDefaults).CacheLimitMb, (o, v) => o with { Layerwise = Layering(o, "--cache-limit-mb") with { CacheLimitMb = v } }),
        new Flag<double>("--overparameterize", "layerwise.overparameterize", "Layer-wise: train each conv/linear W as B·A of inner width F·min(d_in, d_out), collapsed after its stage (0 = off)",
            o => (o.Layerwise ?? LayerwiseDefaults).Overparameterize, (o, v) => o with { Layerwise = Layering(o, "--overparameterize") with { Overparameterize = v } }),
        new Flag<int>("--window-epochs", "layerwise.window_epochs", "Layer-wise: after stage l ≥ 2, fine-tune stages l−1 and l together for N epochs (0 = off)",
            o => (o.Layerwise ?? LayerwiseDefaults).WindowEpochs, (o, v) => o with { Layerwise = Layering(o, "--window-epochs") with { WindowEpochs = v } }),

        new Flag<int>("--micro-batches", "data_parallel.micro_batches", "Accumulate this many batches per optimisation step (on every rank under mpirun)",
            o => (o.DataParallel ?? ParallelDefaults).MicroBatches, (o, v) => o with { DataParallel = (o.DataParallel ?? new()) with { MicroBatches = v } }),
        new Flag<double>("--bucket-mb", "data_parallel.bucket_megabytes", "Under mpirun: gradients are exchanged in buckets of about this many MiB",
            o => (o.DataParallel ?? ParallelDefaults).BucketMegabytes, (o, v) => o with { DataParallel = (o.DataParallel ?? new()) with { BucketMegabytes = v } }),
        new Flag<string>("--compress", "exchange.compressor", $"Under mpirun: gradient exchange: {string.Join(", ", GradientExchangeOptions.Names)} (or a low-bit format such as fp4, e4m3fn)",
            o => o.Exchange?.Compressor ?? "none", (o, v) => o with { Exchange = v == "none" ? null : (o.Exchange ?? new()) with { Compressor = v } }),
        Choice<Rounding>("--compress-rounding", "exchange.low_bit.rounding", "Low-bit exchange: nearest (even) or stochastic rounding",
            o => (o.Exchange?.LowBit ?? new()).Rounding, (o, v) => o with { Exchange = Exchanging(o, "--compress-rounding") with { LowBit = (o.Exchange!.LowBit ?? new()) with { Rounding = v } } }),
        new Flag<bool>("--compress-error-feedback", "exchange.low_bit.error_feedback", "Low-bit exchange: feed each step's rounding error into the next",
            o => (o.Exchange?.LowBit ?? new()).ErrorFeedback, (o, v) => o with { Exchange = Exchanging(o, "--compress-error-feedback") with { LowBit = (o.Exchange!.LowBit ?? new()) with { ErrorFeedback = v } } }),
        new Flag<double>("--compress-sparsity", "exchange.prune.sparsity", "prune exchange: sparsity of each rank's weight gradient (lognormal stochastic pruning; a PROPOSAL)",
            o => (o.Exchange?.Prune ?? new()).Sparsity, (o, v) => o with { Exchange = Exchanging(o, "--compress-sparsity") with { Prune = (o.Exchange!.Prune ?? new()) with { Sparsity = v } } }),
        new Flag<double>("--compress-keep", "exchange.topk_crs.keep", "topk-crs exchange: share of input channels (largest weight norms) whose gradients travel",
            o => (o.Exchange?.TopKCrs ?? new()).Keep, (o, v) => o with { Exchange = Exchanging(o, "--compress-keep") with { TopKCrs = (o.Exchange!.TopKCrs ?? new()) with { Keep = v } } }),
        new Flag<int>("--powersgd-rank", "exchange.powersgd.rank", "powersgd exchange: rank r of the low-rank gradient",
            o => (o.Exchange?.PowerSgd ?? new()).Rank, (o, v) => o with { Exchange = Exchanging(o, "--powersgd-rank") with { PowerSgd = (o.Exchange!.PowerSgd ?? new()) with { Rank = v } } }),
        new Flag<int>("--powersgd-start", "exchange.powersgd.start_iteration", "powersgd exchange: exact steps before compression starts",
            o => (o.Exchange?.PowerSgd ?? new()).StartIteration, (o, v) => o with { Exchange = Exchanging(o, "--powersgd-start") with { PowerSgd = (o.Exchange!.PowerSgd ?? new()) with { StartIteration = v } } }),
        new Flag<int>("--entropy-bits", "exchange.entropy.base_bits", "entropy exchange (PROPOSAL): b0 of b = clip(b0 + ceil(log2(RMS/RMS_ref)), min, max), RMS_ref the largest RMS sent so far",
            o => (o.Exchange?.Entropy ?? new()).BaseBits, (o, v) => o with { Exchange = Exchanging(o, "--entropy-bits") with { Entropy = (o.Exchange!.Entropy ?? new()) with { BaseBits = v } } }),
        new Flag<int>("--entropy-min-bits", "exchange.entropy.min_bits", "entropy exchange: fewest bits b",
            o => (o.Exchange?.Entropy ?? new()).MinBits, (o, v) => o with { Exchange = Exchanging(o, "--entropy-min-bits") with { Entropy = (o.Exchange!.Entropy ?? new()) with { MinBits = v } } }),
        new Flag<int>("--entropy-max-bits", "exchange.entropy.max_bits", "entropy exchange: most bits b",
            o => (o.Exchange?.Entropy ?? new()).MaxBits, (o, v) => o with { Exchange = Exchanging(o, "--entropy-max-bits") with { Entropy = (o.Exchange!.Entropy ?? new()) with { MaxBits = v } } }),
        new Flag<bool>("--entropy-error-feedback", "exchange.entropy.error_feedback", "entropy exchange: feed each step's quantisation residual into the next (false to turn off)",
            o => (o.Exchange?.Entropy ?? new()).ErrorFeedback, (o, v) => o with { Exchange = Exchanging(o, "--entropy-error-feedback") with { Entropy = (o.Exchange!.Entropy ?? new()) with { ErrorFeedback = v } } }),

        new Flag<double>("--straggler-delay", "drop_compute.straggler_delay", "Inject stragglers: after each micro-batch of t seconds sleep X·t·0.5·F, X log-normal with mean 1 (alone: the synchronous baseline)",
            o => o.DropCompute?.StragglerDelay ?? 0, (o, v) => o with { DropCompute = (o.DropCompute ?? new() { Drop = false }) with { StragglerDelay = v } }),
        new Flag<string?>("--drop-compute", "drop_compute.threshold", "DropCompute: stop a step's compute after this many seconds, or auto (calibrated; needs --micro-batches ≥ 6)",
            o => o.DropCompute is { Drop: true, DropRate: 0 } d ? d.Threshold?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "auto" : null,
            (o, v) => o with { DropCompute = v == null ? o.DropCompute : (o.DropCompute ?? new()) with { Drop = true, Threshold = DropThreshold(v) } }),
        new Flag<double>("--drop-rate", "drop_compute.drop_rate", "DropCompute's random mode: zero a rank's gradient with this probability per step (the accuracy-vs-drop-rate experiment)",
            o => o.DropCompute?.DropRate ?? 0, (o, v) => o with { DropCompute = (o.DropCompute ?? new()) with { Drop = true, DropRate = v } }),
        Choice<DropComputeNormalization>("--drop-normalization", "drop_compute.normalization", "DropCompute: divide the gradient by the nominal N·M micro-batches or the actual count",
            o => (o.DropCompute ?? DropDefaults).Normalization, (o, v) => o with { DropCompute = Dropping(o, "--drop-normalization") with { Normalization = v } }),

        new Flag<int>("--partitions", "partitions.k", "PROPOSAL (METHODS.md §4.4): train K depth-wise partitions, each through its own local head on the detached output of the one before (0 = off, end-to-end; 1 = end-to-end through the partition loop)",
            o => o.Partitions?.K ?? 0, (o, v) => o with { Partitions = v == 0 ? null : (o.Partitions ?? new()) with { K = v } }),
        Choice<PartitionSchedule>("--partition-schedule", "partitions.schedule", "Partitions: sequential (one thread, in turn) or pipelined (a thread per partition, bounded queues between)",
            o => (o.Partitions ?? PartitionDefaults).Schedule, (o, v) => o with { Partitions = Partitioning(o, "--partition-schedule") with { Schedule = v } }),
        new Flag<int>("--queue-depth", "partitions.queue_depth", "Pipelined partitions: batches a partition may run ahead of the next",
            o => (o.Partitions ?? PartitionDefaults).QueueDepth, (o, v) => o with { Partitions = Partitioning(o, "--queue-depth") with { QueueDepth = v } }),
        new Flag<int>("--partition-aux-depth", "partitions.aux_depth", "Partitions: conv layers in each local head before its pooling and linear layer",
            o => (o.Partitions ?? PartitionDefaults).AuxDepth, (o, v) => o with { Partitions = Partitioning(o, "--partition-aux-depth") with { AuxDepth = v } }),
    ];

    static double? DropThreshold(string v) => v == "auto" ? null
        : double.TryParse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double s) ? s
        : throw new OptionException("drop_compute.threshold", $"'{v}' is neither a number of seconds nor auto");

    public static void AddTo(Command command)
    {
        foreach (var f in Flags) command.Options.Add(f.Option);
    }

    /// <summary>The options of <paramref name="start"/> (a config file's, or the defaults) with the given flags applied.</summary>
    public static TrainOptions Read(ParseResult result, TrainOptions start)
    {
        foreach (var f in Flags) start = f.Apply(result, start);
        return start;
    }

    /// <summary>Whether the flag of <paramref name="key"/> was given on the command line.</summary>
    public static bool Given(ParseResult result, string key) =>
        Flags.First(f => f.Key == key).Option is var option && result.GetResult(option) is { Implicit: false };

    /// <summary>The flag that sets <paramref name="key"/> (or the section's main flag), or null.</summary>
    public static string? FlagFor(string key) =>
        (Flags.FirstOrDefault(f => f.Key == key) ?? Flags.FirstOrDefault(f => f.Key.StartsWith(key + ".", StringComparison.Ordinal)))?.Option.Name;
}
