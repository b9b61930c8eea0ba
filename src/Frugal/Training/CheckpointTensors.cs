// Checks a loaded checkpoint's tensors before any of them is copied into a model: every key in a known section,
// the model section exactly the model's state dict (keys and shapes), the dtypes Frugal writes, and no NaN or
// infinity (a diverged run's checkpoint must not be resumed or evaluated as if it were fine). Module.LoadStateDict
// copies key by key, so checking first is also what keeps a refused file from leaving a half-loaded model.
using Frugal.Checkpoints;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Training;

internal static class CheckpointTensors
{
    public const string ModelPrefix = "model.";
    public const string OptimizerPrefix = "optimizer.";

    static readonly string[] Floats = ["F32", "F16", "BF16", "F64"];
    static readonly string[] Integers = ["I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8"];

    /// <summary>
    /// Splits a checkpoint into its model and optimizer sections (keys without the prefix), refusing any other key,
    /// and checks every tensor's dtype and values. <paramref name="exactDtypes"/>: only what
    /// RunFolder.SaveCheckpoint writes (F32, I64 for counters), for --resume; otherwise any float dtype for
    /// weights and any integer dtype for counters, as a PyTorch-written file may hold.
    /// </summary>
    public static (Dictionary<string, Tensor> Model, Dictionary<string, Tensor> Optimizer) Sections(
        SafeTensorsFile file, string path, bool exactDtypes)
    {
        var model = new Dictionary<string, Tensor>();
        var optimizer = new Dictionary<string, Tensor>();
        foreach (var (key, t) in file.Tensors)
        {
            if (key.StartsWith(ModelPrefix, StringComparison.Ordinal)) model[key[ModelPrefix.Length..]] = t;
            else if (key.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) optimizer[key[OptimizerPrefix.Length..]] = t;
            else throw Bad(path, $"tensor '{key}' is outside the '{ModelPrefix}' and '{OptimizerPrefix}' sections of a checkpoint");
            CheckTensor(key, t, file.Dtypes[key], path, exactDtypes);
        }
        return (model, optimizer);
    }

    /// <summary>Checks a plain state dict file (model.safetensors) tensor by tensor, as <see cref="Sections"/> does.</summary>
    public static void CheckAll(SafeTensorsFile file, string path, bool exactDtypes)
    {
        foreach (var (key, t) in file.Tensors) CheckTensor(key, t, file.Dtypes[key], path, exactDtypes);
    }

    static void CheckTensor(string key, Tensor t, string dtype, string path, bool exactDtypes)
    {
        bool counter = RunFolder.IsInt64(key);
        // A model file from elsewhere may hold a counter as a float (SafeTensors.Save without isInt64 does): its value,
        // checked below, is what must be a count.
        var allowed = exactDtypes ? [counter ? "I64" : "F32"] : counter ? [.. Integers, .. Floats] : Floats;
        if (!allowed.Contains(dtype))
            throw Bad(path, $"tensor '{key}' is stored as {dtype}, expected {string.Join(" or ", allowed)}" + (counter ? " (a step counter)" : ""));
        var values = t.ToArray();
        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (!float.IsFinite(v))
                throw Bad(path, $"tensor '{key}' holds {v} at index {i} of {values.Length}; the run had diverged when it was saved. Retrain (e.g. with a lower learning rate) instead of loading it");
            // The bound and rounding that SafeTensors.Save checks, so the next save does not fail an epoch later.
            if (counter && (v < 0 || v != MathF.Round(v) || v >= 9.223372e18f))
                throw Bad(path, $"tensor '{key}' holds {v} at index {i}, not a count (a non-negative whole number)");
        }
    }

    /// <summary>Throws unless <paramref name="state"/> has exactly <paramref name="model"/>'s state-dict keys and shapes.</summary>
    public static void CheckFits(Module model, IReadOnlyDictionary<string, Tensor> state, string path, string prefix, string what)
    {
        var own = model.StateDict();
        var ownKeys = own.Select(p => p.Key).ToHashSet();
        var missing = own.Where(p => !state.ContainsKey(p.Key)).Select(p => prefix + p.Key).ToList();
        var unexpected = state.Keys.Where(k => !ownKeys.Contains(k)).Select(k => prefix + k).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw Bad(path, $"tensors do not match {what}: "
                + string.Join("; ", new[] { ("missing", missing), ("unexpected", unexpected) }
                    .Where(p => p.Item2.Count > 0).Select(p => $"{p.Item1} {List(p.Item2)}"))
                + ". Was the checkpoint written by another model or with other sizes?");
        foreach (var (key, t) in own)
            if (state[key].Shape != t.Shape)
                throw Bad(path, $"tensor '{prefix}{key}' has shape {state[key].Shape}, but {what} has {t.Shape}");
    }

    /// <summary>A key list short enough to read: a wrong model can miss hundreds.</summary>
    static string List(List<string> keys) =>
        string.Join(", ", keys.Take(8).Select(k => $"'{k}'")) + (keys.Count > 8 ? $" and {keys.Count - 8} more" : "");

    /// <summary>Refuses a folder where a checkpoint file should be (File.Exists is false for it, so it would pass for "no file").</summary>
    public static void NotAFolder(string path)
    {
        if (Directory.Exists(path)) throw Bad(path, "is a folder, not a checkpoint file; remove or rename it");
    }

    static InvalidDataException Bad(string path, string what) => CheckpointMetadata.Bad(path, what);
}
