using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Options;
using Frugal.Tensors;

namespace Frugal.Methods.Robustness;

/// <summary>
/// The conv/linear layers whose weights the robustness methods act on, chosen by a spec: null = all but the first
/// layer (KURE's default, ../shared/METHODS.md §5: the stem is small and kept at high precision), "all", or state-dict
/// layer names, comma-separated.
/// </summary>
public static class WeightLayers
{
    /// <summary>The chosen layers in forward order, with their weight tensors; <paramref name="convOnly"/> keeps Conv2d only
    /// (the first layer is then the first conv, as in the reference code). Unknown or repeated names are refused
    /// under the key "layers".</summary>
    public static List<(string Name, Module Layer, Tensor Weight)> Select(Module model, string? spec, bool convOnly = false)
    {
        var all = ComputeLayers.All(model).Where(l => !convOnly || l.Layer is Conv2d or ApproxConv2d)
            .Select(l => (l.Name, l.Layer, Weight: WeightOf(l.Layer))).ToList();
        if (spec == null) return all.Skip(1).ToList();
        if (spec.Trim() == "all") return all;
        var chosen = new List<(string, Module, Tensor)>();
        foreach (var name in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int i = all.FindIndex(l => l.Name == name);
            OptionException.Require(i >= 0, "layers", $"'{name}' is not a {(convOnly ? "conv" : "conv/linear")} layer of this model (layers: {string.Join(", ", all.Select(l => l.Name))})");
            OptionException.Require(!chosen.Any(c => c.Item1 == name), "layers", $"'{name}' is listed twice");
            chosen.Add(all[i]);
        }
        return chosen;
    }

    /// <summary>The weight tensor of a conv/linear layer, exact or approximate.</summary>
    public static Tensor WeightOf(Module layer) => layer switch
    {
        Conv2d c => c.Weight,
        Linear l => l.Weight,
        ApproxConv2d c => c.Weight,
        ApproxLinear l => l.Weight,
        _ => throw new ArgumentException($"weight layers: {layer} is not a conv/linear layer"),
    };
}
