using Frugal.Methods.Approximate;
using Frugal.Nn;

namespace Frugal.Methods;

/// <summary>The conv and linear layers of a model, the layers the methods act on, in forward order.</summary>
public static class ComputeLayers
{
    /// <summary>Every Conv2d and Linear, exact or approximate (column-row sampling swaps them in place), with its
    /// state-dict name, in forward (registration) order.</summary>
    public static List<(string Name, Module Layer)> All(Module model) =>
        model.NamedModules().Where(m => m.Module is Conv2d or Linear or ApproxConv2d or ApproxLinear).ToList();

    /// <summary>All but the classifier (the last Linear), which the methods leave exact, as the references do.</summary>
    public static List<(string Name, Module Layer)> AllButClassifier(Module model)
    {
        var all = All(model);
        int classifier = all.FindLastIndex(m => m.Layer is Linear or ApproxLinear);
        if (classifier >= 0) all.RemoveAt(classifier);
        return all;
    }
}
