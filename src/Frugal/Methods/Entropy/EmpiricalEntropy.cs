namespace Frugal.Methods.Entropy;

/// <summary>
/// The empirical (zeroth-order) entropy of integer symbols, H(q) = −Σ_v p_v·log₂ p_v with p_v the share of symbols equal
/// to v: the bits per symbol an ideal coder of independent symbols with this histogram needs, n·H(q) for n symbols,
/// the yardstick of <see cref="Rans"/>'s coded size (../shared/METHODS.md §4.1: "report the empirical entropy H(q)").
/// </summary>
public static class EmpiricalEntropy
{
    /// <summary>H(q) in bits per symbol; 0 for no symbols or a single repeated one.</summary>
    public static double Bits(ReadOnlySpan<int> symbols) => Bits(new SymbolHistogram(symbols).Counts);

    /// <summary>H in bits per symbol of the distribution counts/Σcounts (zero counts are skipped).</summary>
    public static double Bits(ReadOnlySpan<long> counts)
    {
        double total = 0;
        foreach (long c in counts)
        {
            if (c < 0) throw new ArgumentException($"entropy: count {c} is negative");
            total += c;
        }
        if (total == 0) return 0;
        // H = log₂ n − (1/n)·Σ c·log₂ c: one logarithm per distinct symbol.
        double sum = 0;
        foreach (long c in counts) if (c > 0) sum += c * Math.Log2(c);
        return Math.Max(0, Math.Log2(total) - sum / total);
    }
}
