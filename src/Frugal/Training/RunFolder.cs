using System.Globalization;
using System.Text.Json;
using Frugal.Checkpoints;
using Frugal.Nn;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Training;

/// <summary>
/// A run's folder: config.json, metrics.jsonl (one object per epoch), a TensorBoard event file,
/// model.safetensors (loads into the same PyTorch model) and checkpoint.safetensors (model +
/// optimizer + RNG state for --resume). Every file that a crash could corrupt is written to a temp
/// file and renamed.
/// </summary>
public sealed class RunFolder
{
    public string Path { get; }
    public string MetricsPath => System.IO.Path.Combine(Path, "metrics.jsonl");
    public string ModelPath => System.IO.Path.Combine(Path, "model.safetensors");
    public string CheckpointPath => System.IO.Path.Combine(Path, "checkpoint.safetensors");
    TensorBoardWriter? _events;

    /// <summary>metrics.jsonl lines: snake_case keys; a NaN or infinite figure is written as "NaN"/"Infinity", never an error.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public RunFolder(string path)
    {
        Path = path;
        Directory.CreateDirectory(path);
    }

    public sealed record CheckpointState(int Epoch, ulong[] GeneratorState);

    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");

    /// <summary>Writes config.json: what the run was configured by (any JSON text; the CLI's is its TrainOptions).</summary>
    public void WriteConfig(string json) => AtomicWrite(ConfigPath, json);

    /// <summary>Rewrites metrics.jsonl to the given (resumed) history and opens the TensorBoard event file.</summary>
    public void Start(IReadOnlyList<EpochMetrics> history)
    {
        AtomicWrite(MetricsPath, string.Concat(history.Select(m => JsonSerializer.Serialize(m, Json) + "\n")));
        _events?.Dispose();
        _events = new TensorBoardWriter(Path);
    }

    public void AppendMetrics(EpochMetrics m)
    {
        File.AppendAllText(MetricsPath, JsonSerializer.Serialize(m, Json) + "\n");
        if (_events == null) return;
        _events.AddScalar("loss/train", (float)m.TrainLoss, m.Epoch);
        _events.AddScalar("loss/test", (float)m.TestLoss, m.Epoch);
        _events.AddScalar("accuracy/test", (float)m.TestAccuracy, m.Epoch);
        _events.AddScalar("throughput/samples_per_second", (float)m.SamplesPerSecond, m.Epoch);
        if (m.Extra != null)
            foreach (var (k, v) in m.Extra)
                if (v is double or float or int or long)
                    _events.AddScalar(k, (float)Convert.ToDouble(v, CultureInfo.InvariantCulture), m.Epoch);
        _events.Flush();
    }

    public IReadOnlyList<EpochMetrics> ReadMetrics(int upToEpoch)
    {
        if (!File.Exists(MetricsPath)) return [];
        var res = new List<EpochMetrics>();
        foreach (var line in File.ReadLines(MetricsPath))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            var m = JsonSerializer.Deserialize<EpochMetrics>(line, Json)
                ?? throw new InvalidDataException($"{MetricsPath}: unreadable line '{line}'");
            if (m.Epoch <= upToEpoch) res.Add(m);
        }
        return res;
    }

    /// <summary>BatchNorm's counter is an int64 in PyTorch; store it so load_state_dict accepts the file.</summary>
    internal static bool IsInt64(string key) => key.EndsWith("num_batches_tracked", StringComparison.Ordinal);

    public void SaveCheckpoint(Module model, Optimizer optimizer, int epoch, ulong[] generatorState)
    {
        var tensors = model.StateDict().Select(p => ("model." + p.Key, p.Value))
            .Concat(optimizer.StateDict().Select(p => ("optimizer." + p.Key, p.Value)));
        var meta = new Dictionary<string, string>
        {
            ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["generator"] = string.Join(",", generatorState),
            ["format"] = "frugal-checkpoint-1",
        };
        SafeTensors.Save(CheckpointPath, tensors, meta, IsInt64);
        SafeTensors.Save(ModelPath, model.StateDict(), new Dictionary<string, string> { ["epoch"] = meta["epoch"] }, IsInt64);
    }

    /// <summary>
    /// Loads checkpoint.safetensors into <paramref name="model"/> and <paramref name="optimizer"/>; null when there is
    /// none. A file that is malformed, does not match the model or optimizer exactly, or holds NaN/Inf is refused with
    /// an <see cref="InvalidDataException"/> naming the file and what is wrong, before anything is changed.
    /// </summary>
    public CheckpointState? LoadCheckpoint(Module model, Optimizer optimizer)
    {
        CheckpointTensors.NotAFolder(CheckpointPath);
        if (!File.Exists(CheckpointPath)) return null;
        var file = SafeTensors.Load(CheckpointPath);
        var state = CheckpointMetadata.Parse(file.Metadata, CheckpointPath);
        var (modelState, optimizerState) = CheckpointTensors.Sections(file, CheckpointPath, exactDtypes: true);
        CheckpointTensors.CheckFits(model, modelState, CheckpointPath, CheckpointTensors.ModelPrefix, "this run's model");
        // The optimizer validates in full before it changes anything; the model was checked above. So a refusal
        // here leaves both as they were.
        try { optimizer.LoadStateDict(optimizerState); }
        catch (ArgumentException e) { throw new InvalidDataException($"{CheckpointPath}: optimizer state does not fit this run's {optimizer.Name} (was the run started with another optimizer or other model sizes?): {e.Message}", e); }
        try { model.LoadStateDict(modelState); }
        catch (ArgumentException e) { throw new InvalidDataException($"{CheckpointPath}: model state does not fit this run's model: {e.Message}", e); }
        return state;
    }

    /// <summary>The tensors whose keys start with <paramref name="prefix"/>, keyed without it.</summary>
    internal static Dictionary<string, Tensor> Section(IReadOnlyDictionary<string, Tensor> all, string prefix) =>
        all.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(p => p.Key[prefix.Length..], p => p.Value);

    static void AtomicWrite(string path, string text)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
