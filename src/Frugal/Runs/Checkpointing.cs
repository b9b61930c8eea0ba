using Frugal.Checkpoints;
using Frugal.Data;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Runs;

/// <summary>Loading a saved model for evaluation or fine-tuning.</summary>
public static class Checkpointing
{
    /// <summary>
    /// Builds <paramref name="model"/> and loads weights from a model.safetensors (or the model part of a
    /// checkpoint.safetensors). A file that is malformed, does not fit the model exactly, or holds NaN/Inf is
    /// refused with an <see cref="InvalidDataException"/> naming the file and the tensor.
    /// </summary>
    public static Module Load(string path, string model, ModelOptions? options = null, Device? device = null)
    {
        CheckpointTensors.NotAFolder(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint: {path} does not exist", path);
        var file = SafeTensors.Load(path);
        // A plain model file may come from PyTorch (F16, BF16...); a Frugal checkpoint holds only what Frugal writes.
        bool sectioned = file.Tensors.Keys.Any(k => k.StartsWith(CheckpointTensors.ModelPrefix, StringComparison.Ordinal));
        Dictionary<string, Tensor> tensors;
        if (sectioned)
            tensors = CheckpointTensors.Sections(file, path, exactDtypes: false).Model;
        else
        {
            CheckpointTensors.CheckAll(file, path, exactDtypes: false);
            tensors = file.Tensors.ToDictionary(p => p.Key, p => p.Value);
        }
        var m = ModelZoo.Build(model, options);
        CheckpointTensors.CheckFits(m, tensors, path, sectioned ? CheckpointTensors.ModelPrefix : "", $"model '{model}'");
        try { m.LoadStateDict(tensors); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: does not fit model '{model}': {e.Message}", e); }
        if (device is { } d && d != Device.Cpu) m.To(d);
        return m;
    }

    /// <summary>Evaluates a checkpoint on the test set. The model and its sizes come from the run's config.json
    /// beside the checkpoint when there is one; <paramref name="model"/>, if given, must agree with it.</summary>
    public static (double Loss, double Accuracy) Evaluate(string path, string? model, string? dataDir, string device)
    {
        var d = Device.Parse(device);
        var config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "config.json");
        TrainOptions? run = null;
        if (File.Exists(config))
            run = TrainOptions.FromJson(IO.RegularFile.ReadAllText(config, "run config"), config);
        if (run != null && model != null && model != run.Model)
            throw new Options.OptionException("model", $"'{model}' disagrees with {config}, which says the checkpoint is a '{run.Model}'");
        var m = Load(path, model ?? run?.Model ?? "cnn", run?.ModelOptions, d);
        var (_, test) = FashionMnist.Load(dataDir, run?.ModelOptions.Classes ?? 10);
        return Evaluation.Run(m, new DataLoader(test, 1000, shuffle: false, device: d));
    }
}
