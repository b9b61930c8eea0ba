namespace Frugal.Methods.Zap;

/// <summary>
/// Per-layer ZAP thresholds (../shared/METHODS.md §6, the PROPOSAL): choose for each layer one measured threshold, or no
/// ZAP at all, to maximise the total net MACs saved subject to Σ_layers error_l(t_l) ≤ budget (errors assumed additive,
/// as in the paper). A multiple-choice knapsack, solved exactly by dynamic programming over the Pareto frontier of
/// (Σ error, Σ saved): layer by layer, every kept partial choice is extended by each option, those over the budget are
/// dropped, and only the choices that save more than every choice of lower error survive. The frontier stays small
/// (at most one point per distinct error sum that beats all cheaper ones). The reference code instead fits
/// d + a/(1 + e^(−bx+c)) to each layer's curves and runs a constrained optimiser on the fits; the measured points are
/// used directly here, so no fit error enters.
/// </summary>
public static class ThresholdSolver
{
    /// <summary>
    /// For each layer, the index into its options chosen, or −1 for "ZAP off" (saves 0, errs 0, always allowed).
    /// <paramref name="saved"/>[l][k] and <paramref name="error"/>[l][k] are layer l's net MACs saved and error at
    /// option k. The result's Σ error never exceeds <paramref name="budget"/>, and no feasible choice saves more.
    /// </summary>
    public static int[] Solve(IReadOnlyList<double[]> saved, IReadOnlyList<double[]> error, double budget)
    {
        if (saved.Count != error.Count || saved.Where((s, l) => s.Length != error[l].Length).Any())
            throw new ArgumentException("threshold solver: saved and error must have the same layers and options");
        if (!(budget >= 0)) throw new ArgumentException($"threshold solver: budget must be ≥ 0, got {budget}");
        var frontier = new List<(double Error, double Saved, int[] Choice)> { (0, 0, []) };
        for (int l = 0; l < saved.Count; l++)
        {
            var next = new List<(double Error, double Saved, int[] Choice)>();
            foreach (var (e, s, c) in frontier)
                for (int k = -1; k < saved[l].Length; k++)
                {
                    double ne = e + (k < 0 ? 0 : error[l][k]);
                    if (ne <= budget) next.Add((ne, s + (k < 0 ? 0 : saved[l][k]), [.. c, k]));
                }
            next.Sort((a, b) => a.Error != b.Error ? a.Error.CompareTo(b.Error) : b.Saved.CompareTo(a.Saved));
            frontier = [];
            foreach (var point in next)
                if (frontier.Count == 0 || point.Saved > frontier[^1].Saved) frontier.Add(point);
        }
        return frontier[^1].Choice;
    }

    /// <summary>Thresholds per layer (null = off) for <paramref name="budget"/> from measured curves.</summary>
    public static double?[] Thresholds(IReadOnlyList<ZapCurve> curves, double budget)
    {
        var saved = curves.Select(c => Enumerable.Range(0, c.Thresholds.Length).Select(c.NetSavedMacs).ToArray()).ToList();
        var error = curves.Select(c => c.Error).ToList();
        var choice = Solve(saved, error, budget);
        return choice.Select((k, l) => k < 0 ? (double?)null : curves[l].Thresholds[k]).ToArray();
    }
}
