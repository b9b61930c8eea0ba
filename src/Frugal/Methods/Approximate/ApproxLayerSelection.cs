using Frugal.Nn;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Which conv/linear layers a run approximates, and at which keep ratio. The default follows the reference code
/// (METHODS.md §2): every conv/linear layer except the first (the thin stem, where sampling saves little and hurts
/// most) and the classifier. A spec names layers by state-dict prefix, comma-separated, each optionally with its own
/// keep ratio ("3,7=0.3"), or is "all", "none", or "auto" (<see cref="Auto"/>; the keeps are chosen in training). Grouped convolutions are never sampled.
/// </summary>
public static class ApproxLayerSelection
{
    /// <summary>The layers that can be approximated, in model order: Linear and Conv2d with groups = 1, and those already
    /// swapped for <see cref="ApproxLinear"/>/<see cref="ApproxConv2d"/> (so a selection made after
    /// <see cref="CrsApproximation.Attach"/>, e.g. by the topk-crs gradient exchange, names the same layers).</summary>
    public static IReadOnlyList<(string Name, Module Layer)> Candidates(Module model) =>
        model.NamedModules().Where(m => m.Module is Linear or Conv2d { Groups: 1 } or ApproxLinear or ApproxConv2d).ToList();

    /// <summary>Whether <paramref name="spec"/> asks <see cref="CrsApproximation"/> to choose the keeps (<see cref="AutoKeep"/>).</summary>
    public static bool IsAuto(string? spec) => spec?.Trim() == "auto";

    /// <summary>The candidates of "auto": every conv/linear layer but the classifier (the last); the chooser leaves
    /// exact those that buy little time.</summary>
    public static IReadOnlyList<string> Auto(Module model) => Candidates(model).Select(c => c.Name).SkipLast(1).ToList();

    /// <summary>Layer name → keep ratio (null = the options' keep) for <paramref name="spec"/> (null = the default set;
    /// "auto" = <see cref="Auto"/>'s candidates).</summary>
    public static IReadOnlyList<(string Name, double? Keep)> Select(Module model, string? spec)
    {
        var all = Candidates(model).Select(c => c.Name).ToList();
        if (spec == null)
            return all.Count <= 2 ? [] : all.Skip(1).Take(all.Count - 2).Select(n => (n, (double?)null)).ToList();
        if (spec.Trim() == "all") return all.Select(n => (n, (double?)null)).ToList();
        if (spec.Trim() == "none") return [];
        if (IsAuto(spec)) return Auto(model).Select(n => (n, (double?)null)).ToList();
        var res = new List<(string, double?)>();
        foreach (var raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = raw.Split('=', 2, StringSplitOptions.TrimEntries);
            string name = parts[0];
            if (!all.Contains(name))
                throw new Frugal.Options.OptionException("layers", $"'{name}' is not a conv/linear layer of this model (layers: {string.Join(", ", all)})");
            double? keep = null;
            if (parts.Length == 2)
            {
                if (!double.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var r) || r is <= 0 or > 1)
                    throw new Frugal.Options.OptionException("layers", $"keep ratio of '{name}' must be a number in (0, 1], got '{parts[1]}'");
                keep = r;
            }
            if (res.Any(e => e.Item1 == name)) throw new Frugal.Options.OptionException("layers", $"'{name}' is listed twice");
            res.Add((name, keep));
        }
        return res;
    }
}
