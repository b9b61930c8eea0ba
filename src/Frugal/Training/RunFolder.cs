using System.Globalization;
using System.Text.Json;
using Frugal.Checkpoints;
using Frugal.IO;
using Frugal.Nn;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Training;

/// <summary>
/// A run's folder: config.json, metrics.jsonl (one object per epoch), a TensorBoard event file,
/// model.safetensors (loads into the same PyTorch model) and checkpoint.safetensors (model +
/// optimizer + RNG state for --resume). Every file is written whole through <see cref="AtomicFile"/>: a kill, a full
/// disk or a symlink planted at any of these names can neither corrupt a file nor redirect a write out of the folder.
/// Per epoch the metrics line is written first, then model.safetensors, then the checkpoint: a kill between any two
/// leaves a checkpoint of the previous epoch, and resuming from it re-runs the epoch and rewrites the others, so the
/// metrics history holds every completed epoch exactly once.
/// </summary>
public sealed class RunFolder : IDisposable
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

    readonly List<string> _lines = [];

    /// <summary>Opens (creating if needed) the folder, and removes temporary files a killed run left in it.</summary>
    public RunFolder(string path)
    {
        Path = path;
        if (File.Exists(path)) throw new IOException($"run folder: {path} is a file, not a folder; choose another path or move the file");
        Directory.CreateDirectory(path);
        AtomicFile.RemoveLeftovers(path);
    }

    public sealed record CheckpointState(int Epoch, ulong[] GeneratorState);

    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");

    /// <summary>Writes config.json: what the run was configured by (any JSON text; the CLI's is its TrainOptions).</summary>
    public void WriteConfig(string json) => AtomicFile.WriteAllText(ConfigPath, json);

    /// <summary>Rewrites metrics.jsonl to the given (resumed) history and opens the TensorBoard event file.</summary>
    public void Start(IReadOnlyList<EpochMetrics> history)
    {
        _lines.Clear();
        _lines.AddRange(history.Select(Line));
        AtomicFile.WriteAllText(MetricsPath, string.Concat(_lines));
        _events?.Dispose();
        _events = new TensorBoardWriter(Path);
    }

    /// <summary>Closes the TensorBoard event file (a later <see cref="Start"/> opens a new one).</summary>
    public void Dispose()
    {
        _events?.Dispose();
        _events = null;
    }

    static string Line(EpochMetrics m) => JsonSerializer.Serialize(m, Json) + "\n";

    /// <summary>Adds the epoch's line. The file is rewritten whole (it is small), so no kill can leave half a line.</summary>
    public void AppendMetrics(EpochMetrics m)
    {
        _lines.Add(Line(m));
        AtomicFile.WriteAllText(MetricsPath, string.Concat(_lines));
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

    /// <summary>The recorded epochs up to <paramref name="upToEpoch"/>, each once (the last record of an epoch wins).
    /// A torn last line is the interrupted epoch's and is dropped; any other unreadable line is an error naming it.</summary>
    public IReadOnlyList<EpochMetrics> ReadMetrics(int upToEpoch)
    {
        if (!File.Exists(MetricsPath)) return [];
        var lines = File.ReadAllLines(MetricsPath);
        int last = Array.FindLastIndex(lines, l => !string.IsNullOrWhiteSpace(l));
        var byEpoch = new SortedDictionary<int, EpochMetrics>();
        for (int i = 0; i <= last; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i])) continue;
            EpochMetrics? m;
            try { m = JsonSerializer.Deserialize<EpochMetrics>(lines[i], Json); }
            catch (JsonException) when (i == last) { continue; }
            catch (JsonException e) { throw new InvalidDataException($"{MetricsPath}: line {i + 1} is not a metrics record ({e.Message.Split(". Path")[0]}); repair or delete that line", e); }
            if (m == null || m.Epoch < 1) throw new InvalidDataException($"{MetricsPath}: line {i + 1} has no epoch; repair or delete that line");
            if (m.Epoch <= upToEpoch) byEpoch[m.Epoch] = m;
        }
        return byEpoch.Values.ToList();
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
            ["optimizer"] = optimizer.Name,
        };
        SaveModel(model, epoch);
        SafeTensors.Save(CheckpointPath, tensors, meta, IsInt64);
    }

    /// <summary>Writes model.safetensors (the model alone, loadable by PyTorch) as of <paramref name="epoch"/>.</summary>
    public void SaveModel(Module model, int epoch) =>
        SafeTensors.Save(ModelPath, model.StateDict(), new Dictionary<string, string> { ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture) }, IsInt64);

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
        // An optimizer whose state is empty (SGD without momentum) would load into any other silently: compare names.
        if (file.Metadata.TryGetValue("optimizer", out var written) && written != optimizer.Name)
            throw CheckpointMetadata.Bad(CheckpointPath, $"was written by a run with the {written} optimizer; this run uses {optimizer.Name} (resume with the same optimizer, or start a new run folder)");
        var (modelState, optimizerState) = CheckpointTensors.Sections(file, CheckpointPath, exactDtypes: true);
        CheckpointTensors.CheckFits(model, modelState, CheckpointPath, CheckpointTensors.ModelPrefix, "this run's model");
        // The optimizer validates in full before it changes anything; the model was checked above. So a refusal
        // here leaves both as they were.
        try { optimizer.LoadStateDict(optimizerState); }
        catch (ArgumentException e) { throw new InvalidDataException($"{CheckpointPath}: optimizer state does not fit this run's {optimizer.Name} (was the run started with another optimizer or other model sizes?): {e.Message}", e); }
        model.LoadStateDict(modelState);   // its keys and shapes were checked (CheckFits), with the path in the message
        return state;
    }
}
