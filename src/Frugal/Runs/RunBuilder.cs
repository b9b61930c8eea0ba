using Frugal.Data;
using Frugal.Distributed;
using Frugal.Methods;
using Frugal.Methods.LocalLearning;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Options;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Runs;

/// <summary>
/// Turns a <see cref="TrainOptions"/> run config into the parts of a <see cref="Trainer"/>: the zoo model, its
/// optimizer and schedule, the data loaders, the methods and the run folder. The CLI is this builder plus flag
/// parsing; a program that brings its own model or data builds a Trainer from the same parts directly. Methods come
/// from <see cref="TrainOptions.CreateMethods"/> only, so a method switched on in the options is never skipped.
/// </summary>
public static class RunBuilder
{
    /// <summary>Loads the data the options name (Fashion-MNIST or <see cref="TrainOptions.DataDir"/>) and builds the trainer.</summary>
    public static Trainer Build(TrainOptions o, IProcessGroup? group = null)
    {
        var (train, test) = FashionMnist.Load(o.DataDir, o.ModelOptions.Classes);
        return Build(o, train, test, group);
    }

    /// <summary>
    /// Builds the trainer for the options on the given images: seeds the default generator, builds and moves the zoo
    /// model, attaches the methods, and writes config.json when the options name a run folder. Training images get
    /// the options' augmentation; <see cref="TrainOptions.TrainLimit"/>/<see cref="TrainOptions.TestLimit"/> cut both.
    /// Under a <paramref name="group"/> of several ranks (every rank calls this with the same options) each rank gets
    /// its shard of both sets and the model rank 0 built; rank 0 alone writes the run folder.
    /// </summary>
    public static Trainer Build(TrainOptions o, ImageDataset train, ImageDataset test, IProcessGroup? group = null)
    {
        group ??= new SingleProcessGroup();
        var run = Parts(o, train, test, group);
        return new Trainer(run.Model, OptimizerFactory.Create(o, run.Model), run.Train, run.Test, run.Loss, run.Methods, run.Folder)
        {
            Schedule = LearningRateSchedule.Create(o, run.Train.Count / (o.DataParallel?.MicroBatches ?? 1)),
            ClipGradNorm = o.ClipGradNorm,
            BatchNormRecalibration = o.BnRecalibrate,
            Parallel = o.CreateParallel(run.Model, group),
        };
    }

    /// <summary>Loads the data the options name and builds the partition-wise training of their
    /// <see cref="TrainOptions.Partitions"/> section.</summary>
    public static PartitionTraining BuildPartitions(TrainOptions o, IProcessGroup? group = null)
    {
        var (train, test) = FashionMnist.Load(o.DataDir, o.ModelOptions.Classes);
        return BuildPartitions(o, train, test, group);
    }

    /// <summary>
    /// Partition-wise training (METHODS.md §4.4) of the options on the given images: the same model, data, loss,
    /// schedule and run folder as <see cref="Build(TrainOptions, ImageDataset, ImageDataset, IProcessGroup?)"/>, one
    /// optimizer of the options' kind per partition, the local heads seeded by <see cref="TrainOptions.Seed"/>. One process only.
    /// </summary>
    public static PartitionTraining BuildPartitions(TrainOptions o, ImageDataset train, ImageDataset test, IProcessGroup? group = null)
    {
        var partitions = o.Partitions ?? throw new OptionException("partitions", "is missing: partition-wise training needs a partitions section (or --partitions)");
        if (group is { Size: > 1 })
            throw new ArgumentException($"partitions: partition-wise training runs in one process, not on {group.Size} ranks; start it without mpirun");
        var run = Parts(o, train, test, new SingleProcessGroup());
        var model = run.Model as Sequential ?? throw new OptionException("model", $"'{o.Model}' is not a sequential model, which partition-wise training cuts into partitions");
        int stages = ModelStages.Split(model).Count;
        OptionException.Require(partitions.K <= stages, "partitions.k", $"must be at most the {stages} stages of model '{o.Model}' (one per conv or linear layer), got {partitions.K}");
        return new PartitionTraining(model, partitions, m => OptimizerFactory.Create(o, m), run.Train, run.Test, run.Loss, run.Folder, new Generator(o.Seed ^ 0x9A27_1710UL))
        {
            Schedule = LearningRateSchedule.Create(o, run.Train.Count),
            ClipGradNorm = o.ClipGradNorm,
        };
    }

    sealed record RunParts(Module Model, DataLoader Train, DataLoader Test, LossFunction Loss, IReadOnlyList<ITrainingMethod> Methods, RunFolder? Folder);

    /// <summary>What every run of the options is built from: seeds the default generator, builds and moves the zoo
    /// model, makes the methods, cuts the data into this rank's loaders, and writes config.json on rank 0.</summary>
    static RunParts Parts(TrainOptions o, ImageDataset train, ImageDataset test, IProcessGroup group)
    {
        o.Validate();
        var device = Device.Parse(o.Device);
        Generator.ManualSeed(o.Seed);
        int classes = Math.Max(train.Classes, test.Classes);
        OptionException.Require(classes <= o.ModelOptions.Classes, "model_options.classes",
            $"the data has {classes} classes but the model has {o.ModelOptions.Classes} outputs; set classes to at least {classes}");
        var trainSet = train.Take(o.TrainLimit) with { Augmentation = new Augmentation(o.CropPadding, o.HorizontalFlip) };
        OptionException.Require((long)o.BatchSize * group.Size <= trainSet.Count, "batch_size",
            group.Size == 1 ? $"{o.BatchSize} is larger than the {trainSet.Count} training examples"
                : $"{o.BatchSize} on each of {group.Size} ranks is more than the {trainSet.Count} training examples");
        var model = o.InitFrom != null ? Checkpointing.Load(o.InitFrom, o.Model, o.ModelOptions) : ModelZoo.Build(o.Model, o.ModelOptions, o.Seed);
        if (device != Device.Cpu) model.To(device);
        var methods = o.CreateMethods();
        // Incomplete last batches are dropped in training, as the PyTorch reference does.
        var shard = (group.Rank, group.Size);
        var trainLoader = new DataLoader(trainSet, o.BatchSize, shuffle: true, o.Seed, dropLast: true, device: device) { Shard = shard };
        var testLoader = new DataLoader(test.Take(o.TestLimit), 1000, shuffle: false, device: device) { Shard = shard };
        RunFolder? run = null;
        if (o.Out != null && group.Rank == 0)
        {
            run = new RunFolder(o.Out);
            run.WriteConfig(o.ToJson());
        }
        return new RunParts(model, trainLoader, testLoader, o.CreateLoss(), methods, run);
    }

    /// <summary>
    /// Builds the layer-wise run of options with a <see cref="TrainOptions.Layerwise"/> section: the parts of
    /// <see cref="Build(TrainOptions, ImageDataset, ImageDataset, IProcessGroup?)"/> (model, loaders, loss, config.json),
    /// a fresh optimizer of the options' kind per phase, and each phase's schedule over its own epochs.
    /// </summary>
    public static LayerwiseTraining BuildLayerwise(TrainOptions o, ImageDataset train, ImageDataset test)
    {
        OptionException.Require(o.Layerwise != null, "layerwise", "is missing: add a layerwise section to train layer-wise");
        var parts = Parts(o, train, test, new SingleProcessGroup());
        var model = parts.Model as Sequential ?? throw new ArgumentException($"layer-wise training: model {o.Model} is not sequential");
        return new LayerwiseTraining(model, piece => OptimizerFactory.Create(o, piece), parts.Train, parts.Test, parts.Loss,
            o.Layerwise, o.Out, o.Seed)
        {
            Schedule = (epochs, steps) => LearningRateSchedule.Create(o with { Epochs = epochs, WarmupEpochs = Math.Min(o.WarmupEpochs, epochs) }, steps),
            ClipGradNorm = o.ClipGradNorm,
        };
    }

    /// <summary>Loads the data the options name and builds the layer-wise run.</summary>
    public static LayerwiseTraining BuildLayerwise(TrainOptions o)
    {
        var (train, test) = FashionMnist.Load(o.DataDir, o.ModelOptions.Classes);
        return BuildLayerwise(o, train, test);
    }
}
