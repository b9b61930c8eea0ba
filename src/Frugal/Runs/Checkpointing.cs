using System.Text.Json;
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
        var file = SafeTensors.Load(path);   // refuses a missing file, a folder, a FIFO, naming the path
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
        // Keys and shapes, all LoadStateDict checks, are checked here first, with the path in the message.
        CheckpointTensors.CheckFits(m, tensors, path, sectioned ? CheckpointTensors.ModelPrefix : "", $"model '{model}'");
        m.LoadStateDict(tensors);
        if (device is { } d && d != Device.Cpu) m.To(d);
        return m;
    }

    /// <summary>Evaluates a checkpoint on the test set. The model and its sizes come from the run's config.json
    /// beside the checkpoint when there is one; <paramref name="model"/>, if given, must agree with it. With
    /// <paramref name="recalibrateBatches"/> &gt; 0 the batch norms' running statistics are first re-estimated from that
    /// many training batches of 128 in a fixed shuffled order (<see cref="BatchNormStatistics.Update"/>).</summary>
    public static (double Loss, double Accuracy) Evaluate(string path, string? model, string? dataDir, string device, int recalibrateBatches = 0)
    {
        if (recalibrateBatches < 0) throw new Options.OptionException("bn_recalibrate", $"must be ≥ 0 batches (0 = evaluate as saved), got {recalibrateBatches}");
        var d = Device.Parse(device);
        var (m, _, sizes) = LoadRun(path, model, d);
        var (train, test) = FashionMnist.Load(dataDir, sizes?.Classes ?? 10);
        if (recalibrateBatches > 0)
            BatchNormStatistics.Update(m, new DataLoader(train, 128, shuffle: true, seed: 0, device: d).Epoch(1).Take(recalibrateBatches).Select(b => b.Inputs));
        return Evaluation.Run(m, new DataLoader(test, 1000, shuffle: false, device: d));
    }

    /// <summary>Loads a checkpoint as <see cref="Evaluate"/> does: the model and its sizes from <see cref="ModelOfRun"/>.</summary>
    public static (Module Model, string Name, ModelOptions? Sizes) LoadRun(string path, string? model, Device device)
    {
        var (name, sizes) = ModelOfRun(path, model);
        return (Load(path, name, sizes, device), name, sizes);
    }

    /// <summary>The model a checkpoint belongs to: from the run's config.json beside it when there is one (which
    /// <paramref name="model"/>, if given, must agree with), else <paramref name="model"/>, else cnn.</summary>
    public static (string Model, ModelOptions? Sizes) ModelOfRun(string path, string? model)
    {
        var config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "config.json");
        var (runModel, sizes) = File.Exists(config) || Directory.Exists(config) ? ModelOf(config) : (null, null);
        if (runModel != null && model != null && model != runModel)
            throw new Options.OptionException("model", $"'{model}' disagrees with {config}, which says the checkpoint is a '{runModel}'");
        return (model ?? runModel ?? "cnn", sizes);
    }

    /// <summary>Only the model's name and sizes of a run config: all evaluation needs, read leniently so that run
    /// folders of earlier versions (other method keys) still evaluate.</summary>
    static (string? Model, ModelOptions? Sizes) ModelOf(string config)
    {
        try
        {
            using var doc = JsonDocument.Parse(IO.RegularFile.ReadAllText(config, "run config"));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{config}: not a run config (a JSON object)");
            string? name = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            var sizes = root.TryGetProperty("model_options", out var o) && o.ValueKind == JsonValueKind.Object ? o.Deserialize<ModelOptions>(Lenient) : null;
            return (name, sizes);
        }
        catch (JsonException e) { throw new InvalidDataException($"{config}: not readable as a run config ({e.Message.Split(". Path")[0]})", e); }
    }

    static readonly JsonSerializerOptions Lenient = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };
}
