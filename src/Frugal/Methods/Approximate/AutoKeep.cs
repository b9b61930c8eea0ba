using System.Globalization;

namespace Frugal.Methods.Approximate;

/// <summary>One keep ratio of a layer as measured: its forward + backward milliseconds and its predicted relative
/// output error ‖Ŷ − Y‖_F/‖Y‖_F.</summary>
public sealed record KeepCost(double Keep, double Ms, double Error);

/// <summary>A layer's measured exact forward + backward milliseconds and its sampled options.</summary>
public sealed record LayerCost(string Name, double ExactMs, IReadOnlyList<KeepCost> Options);

/// <summary>
/// Per-layer keep ratios chosen by measured cost and predicted error (issue 17; METHODS.md §2): a greedy knapsack
/// that starts with every layer exact and repeatedly takes the one move (a layer to a lower keep) that buys the most
/// milliseconds per unit of added error, while the summed relative error stays within the budget. A move must save at
/// least <c>minSaving</c> of the candidates' total exact time, so layers that buy little time (a small fc layer, a stem
/// whose few channels stay exact through minimal_k) stay exact. Summing the layers' relative errors is a first-order
/// proxy for the error at the network's output (each layer's relative error perturbs its successors' inputs).
/// Pure: the same costs give the same keeps.
/// </summary>
public static class AutoKeep
{
    /// <summary>The keep of each layer (1 = exact), in the order of <paramref name="layers"/>.</summary>
    /// <param name="layers">Each candidate's exact time and sampled options (in any order of keeps).</param>
    /// <param name="errorBudget">Largest Σ of the chosen options' relative errors, ≥ 0.</param>
    /// <param name="minSaving">Smallest saving a move must buy, as a fraction of Σ ExactMs, in [0, 1).</param>
    public static double[] Choose(IReadOnlyList<LayerCost> layers, double errorBudget, double minSaving)
    {
        if (!(errorBudget >= 0)) throw new ArgumentException($"auto_keep: error_budget must be ≥ 0, got {errorBudget}");
        if (minSaving is < 0 or >= 1 || double.IsNaN(minSaving)) throw new ArgumentException($"auto_keep: min_saving must be in [0, 1), got {minSaving}");
        double total = layers.Sum(l => l.ExactMs), floor = minSaving * total;
        var current = new KeepCost?[layers.Count];   // null = exact
        double error = 0;
        while (true)
        {
            int bestLayer = -1;
            KeepCost? best = null;
            double bestRate = double.NegativeInfinity, bestSaving = 0;
            for (int i = 0; i < layers.Count; i++)
            {
                var cur = current[i];
                double curMs = cur?.Ms ?? layers[i].ExactMs, curErr = cur?.Error ?? 0, curKeep = cur?.Keep ?? 1;
                foreach (var o in layers[i].Options)
                {
                    double saving = curMs - o.Ms, added = o.Error - curErr;
                    if (o.Keep >= curKeep || !(saving > floor) || saving <= 0 || error + added > errorBudget) continue;
                    // Per unit of added error; a move that adds none is free (rate +∞), ties go to the larger saving.
                    double rate = added > 0 ? saving / added : double.PositiveInfinity;
                    if (rate > bestRate || (rate == bestRate && saving > bestSaving))
                        (bestLayer, best, bestRate, bestSaving) = (i, o, rate, saving);
                }
            }
            if (best == null) break;
            error += best.Error - (current[bestLayer]?.Error ?? 0);
            current[bestLayer] = best;
        }
        return current.Select(c => c?.Keep ?? 1.0).ToArray();
    }

    /// <summary>The keeps as a layer spec of <see cref="ApproxLayerSelection.Select"/> ("1=0.5,3=0.7"; exact layers left
    /// out; "none" when every layer stays exact), so a run can be repeated with exactly these keeps.</summary>
    public static string Spec(IReadOnlyList<string> names, IReadOnlyList<double> keeps)
    {
        var parts = names.Zip(keeps).Where(p => p.Second < 1).Select(p => $"{p.First}={p.Second.ToString("0.###", CultureInfo.InvariantCulture)}").ToList();
        return parts.Count == 0 ? "none" : string.Join(",", parts);
    }
}
