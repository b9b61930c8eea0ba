using System.Globalization;
using Frugal.Checkpoints;
using Frugal.Nn;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// checkpoint.safetensors of a partition-wise run: the model under its own state-dict keys ("model."), the local heads
/// ("heads.{p}.") and each partition's optimizer ("optimizer.{p}."), with the epoch and the default generator's state
/// as <see cref="RunFolder.SaveCheckpoint"/> writes them; model.safetensors (the model alone) is written first, so a
/// kill between the two resumes from the previous epoch. Every tensor and key is checked before anything is loaded.
/// </summary>
static class PartitionCheckpoint
{
    public static void Save(RunFolder run, PartitionTraining t, int epoch)
    {
        var parts = t.Partitions;
        var tensors = t.Model.StateDict().Select(e => (CheckpointTensors.ModelPrefix + e.Key, e.Value)).ToList();
        for (int p = 0; p < parts.Count; p++)
        {
            if (parts[p].Head is { } head) tensors.AddRange(head.StateDict().Select(e => ($"heads.{p}.{e.Key}", e.Value)));
            tensors.AddRange(parts[p].Optimizer.StateDict().Select(e => ($"{CheckpointTensors.OptimizerPrefix}{p}.{e.Key}", e.Value)));
        }
        var meta = new Dictionary<string, string>
        {
            ["epoch"] = epoch.ToString(CultureInfo.InvariantCulture),
            ["generator"] = string.Join(",", Generator.Default.State),
            ["format"] = CheckpointMetadata.Format,
            ["optimizer"] = parts[0].Optimizer.Name,
            ["partitions"] = parts.Count.ToString(CultureInfo.InvariantCulture),
        };
        run.SaveModel(t.Model, epoch);
        SafeTensors.Save(run.CheckpointPath, tensors, meta, RunFolder.IsInt64);
    }

    /// <summary>Loads the run folder's checkpoint into <paramref name="t"/>; null when there is none.</summary>
    public static RunFolder.CheckpointState? Load(RunFolder run, PartitionTraining t)
    {
        string path = run.CheckpointPath;
        CheckpointTensors.NotAFolder(path);
        if (!File.Exists(path)) return null;
        var file = SafeTensors.Load(path);
        var state = CheckpointMetadata.Parse(file.Metadata, path);
        var parts = t.Partitions;
        if (!file.Metadata.TryGetValue("partitions", out var k))
            throw CheckpointMetadata.Bad(path, "was written by end-to-end training, not partition-wise; resume it without partitions, or start a new run folder");
        if (k != parts.Count.ToString(CultureInfo.InvariantCulture))
            throw CheckpointMetadata.Bad(path, $"was written with {k} partitions; this run has {parts.Count} (resume with the same partitions.k, or start a new run folder)");
        if (file.Metadata.TryGetValue("optimizer", out var written) && written != parts[0].Optimizer.Name)
            throw CheckpointMetadata.Bad(path, $"was written by a run with the {written} optimizer; this run uses {parts[0].Optimizer.Name}");
        CheckpointTensors.CheckAll(file, path, exactDtypes: true);
        var model = Section(file, CheckpointTensors.ModelPrefix);
        var heads = parts.Select((_, p) => Section(file, $"heads.{p}.")).ToArray();
        var optimizers = parts.Select((_, p) => Section(file, $"{CheckpointTensors.OptimizerPrefix}{p}.")).ToArray();
        int known = model.Count + heads.Sum(h => h.Count) + optimizers.Sum(o => o.Count);
        if (known != file.Tensors.Count)
        {
            var stray = file.Tensors.Keys.First(key => !key.StartsWith(CheckpointTensors.ModelPrefix, StringComparison.Ordinal)
                && !Enumerable.Range(0, parts.Count).Any(p => key.StartsWith($"heads.{p}.", StringComparison.Ordinal) || key.StartsWith($"{CheckpointTensors.OptimizerPrefix}{p}.", StringComparison.Ordinal)));
            throw CheckpointMetadata.Bad(path, $"tensor '{stray}' belongs to no section of a {parts.Count}-partition checkpoint");
        }
        CheckpointTensors.CheckFits(t.Model, model, path, CheckpointTensors.ModelPrefix, "this run's model");
        for (int p = 0; p < parts.Count; p++)
            if (parts[p].Head is { } head) CheckpointTensors.CheckFits(head, heads[p], path, $"heads.{p}.", $"the local head of partition {p + 1}");
        for (int p = 0; p < parts.Count; p++)
        {
            try { parts[p].Optimizer.LoadStateDict(optimizers[p]); }
            catch (ArgumentException e) { throw CheckpointMetadata.Bad(path, $"optimizer state of partition {p + 1} does not fit this run: {e.Message}"); }
        }
        t.Model.LoadStateDict(model);
        for (int p = 0; p < parts.Count; p++) parts[p].Head?.LoadStateDict(heads[p]);
        return state;
    }

    static Dictionary<string, Tensor> Section(SafeTensorsFile file, string prefix) =>
        file.Tensors.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(e => e.Key[prefix.Length..], e => e.Value);
}
