using Frugal.Data;
using Frugal.Methods.LocalLearning;
using Frugal.Nn;
using Frugal.Distributed;
using Frugal.Models;
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
        o.Validate();
        group ??= new SingleProcessGroup();
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
        var optimizer = OptimizerFactory.Create(o, model);
        // Incomplete last batches are dropped in training, as the PyTorch reference does.
        var shard = (group.Rank, group.Size);
        var trainLoader = new DataLoader(trainSet, o.BatchSize, shuffle: true, o.Seed, dropLast: true, device: device) { Shard = shard };
        var testLoader = new DataLoader(test.Take(o.TestLimit), 1000, shuffle: false, device: device) { Shard = shard };
        var parallel = o.CreateParallel(model, group);
        RunFolder? run = null;
        if (o.Out != null && group.Rank == 0)
        {
            run = new RunFolder(o.Out);
            run.WriteConfig(o.ToJson());
        }
        return new Trainer(model, optimizer, trainLoader, testLoader, LossFunctions.CrossEntropy(o.LabelSmoothing), methods, run)
        {
            Schedule = LearningRateSchedule.Create(o, trainLoader.Count / (o.DataParallel?.MicroBatches ?? 1)),
            ClipGradNorm = o.ClipGradNorm,
            Parallel = parallel,
        };
    }

    /// <summary>
    /// Builds the layer-wise run of options with a <see cref="TrainOptions.Layerwise"/> section: the parts of
    /// <see cref="Build(TrainOptions, ImageDataset, ImageDataset, IProcessGroup?)"/> (model, loaders, loss, config.json),
    /// a fresh optimizer of the options' kind per phase, and each phase's schedule over its own epochs.
    /// </summary>
    public static LayerwiseTraining BuildLayerwise(TrainOptions o, ImageDataset train, ImageDataset test)
    {
        OptionException.Require(o.Layerwise != null, "layerwise", "is missing: add a layerwise section to train layer-wise");
        var parts = Build(o, train, test);
        var model = parts.Model as Sequential ?? throw new ArgumentException($"layer-wise training: model {o.Model} is not sequential");
        return new LayerwiseTraining(model, piece => OptimizerFactory.Create(o, piece), parts.TrainLoader, parts.TestLoader, parts.Loss,
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
