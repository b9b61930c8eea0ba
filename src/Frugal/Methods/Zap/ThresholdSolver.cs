namespace Frugal.Methods.Zap;

/// <summary>
/// Per-layer ZAP thresholds (../shared/METHODS.md §6, the PROPOSAL): choose for each layer one measured threshold, or no
/// ZAP at all, to maximise the total net MACs saved subject to Σ_layers error_l(t_l) ≤ budget (errors assumed additive,
/// as in the paper). A multiple-choice knapsack, solved by Lagrangian relaxation — per layer argmax saved − λ·error,
/// bisection on λ for the best feasible choice — then a greedy pass that moves any single layer to a better option
/// while the budget allows. The reference code instead fits d + a/(1 + e^(−bx+c)) to each layer's curves and runs a
/// constrained optimiser on the fits; here the measured points are used directly, so no fit error enters.
/// </summary>
public static class ThresholdSolver
{
    /// <summary>
    /// For each layer, the index into its options chosen, or −1 for "ZAP off" (saves 0, errs 0, always allowed).
    /// <paramref name="saved"/>[l][k] and <paramref name="error"/>[l][k] are layer l's net MACs saved and error at
    /// option k. The result's Σ error never exceeds <paramref name="budget"/>.
    /// </summary>
    public static int[] Solve(IReadOnlyList<double[]> saved, IReadOnlyList<double[]> error, double budget)
    {
        if (saved.Count != error.Count || saved.Where((s, l) => s.Length != error[l].Length).Any())
            throw new ArgumentException("threshold solver: saved and error must have the same layers and options");
        if (!(budget >= 0)) throw new ArgumentException($"threshold solver: budget must be ≥ 0, got {budget}");
        int layers = saved.Count;
        var best = Enumerable.Repeat(-1, layers).ToArray();
        double bestSaved = 0;

        int[] Choose(double lambda)
        {
            var c = new int[layers];
            for (int l = 0; l < layers; l++)
            {
                c[l] = -1;
                double score = 0;
                for (int k = 0; k < saved[l].Length; k++)
                {
                    double s = saved[l][k] - lambda * error[l][k];
                    if (s > score) { score = s; c[l] = k; }
                }
            }
            return c;
        }
        void Consider(int[] c)
        {
            if (Error(error, c) <= budget && Saved(saved, c) > bestSaved) { bestSaved = Saved(saved, c); best = c; }
        }

        double maxSaved = saved.SelectMany(s => s).DefaultIfEmpty(0).Max(), minError = error.SelectMany(e => e).Where(e => e > 0).DefaultIfEmpty(1).Min();
        double lo = 0, hi = Math.Max(1, maxSaved) / Math.Max(minError, 1e-12) * 2;
        Consider(Choose(lo));
        for (int it = 0; it < 100; it++)
        {
            double mid = 0.5 * (lo + hi);
            var c = Choose(mid);
            Consider(c);
            if (Error(error, c) <= budget) hi = mid; else lo = mid;
        }
        // Greedy repair: the relaxation can leave budget unused; take the best single-layer move until none helps.
        for (bool improved = true; improved;)
        {
            improved = false;
            for (int l = 0; l < layers; l++)
                for (int k = -1; k < saved[l].Length; k++)
                {
                    var c = (int[])best.Clone();
                    c[l] = k;
                    if (Error(error, c) <= budget && Saved(saved, c) > bestSaved + 1e-9) { best = c; bestSaved = Saved(saved, c); improved = true; }
                }
        }
        return best;
    }

    static double Saved(IReadOnlyList<double[]> saved, int[] c) => c.Select((k, l) => k < 0 ? 0 : saved[l][k]).Sum();
    static double Error(IReadOnlyList<double[]> error, int[] c) => c.Select((k, l) => k < 0 ? 0 : error[l][k]).Sum();

    /// <summary>Thresholds per layer (null = off) for <paramref name="budget"/> from measured curves.</summary>
    public static double?[] Thresholds(IReadOnlyList<ZapCurve> curves, double budget)
    {
        var saved = curves.Select(c => Enumerable.Range(0, c.Thresholds.Length).Select(c.NetSavedMacs).ToArray()).ToList();
        var error = curves.Select(c => c.Error).ToList();
        var choice = Solve(saved, error, budget);
        return choice.Select((k, l) => k < 0 ? (double?)null : curves[l].Thresholds[k]).ToArray();
    }
}
