namespace Frugal.Methods.Entropy;

/// <summary>
/// The distinct values of a sequence of integer symbols, ascending, with their counts: the model that
/// <see cref="EmpiricalEntropy"/> and <see cref="Rans"/> are computed from. Symbols spanning at most
/// <see cref="DenseRange"/> values are counted in a dense array (quantised weights and gradients: a few hundred
/// values), any others in a dictionary.
/// </summary>
public sealed class SymbolHistogram
{
    /// <summary>The widest span of symbol values counted (and looked up) through a dense array.</summary>
    public const int DenseRange = 1 << 16;

    readonly int _min;
    readonly int[]? _dense;    // symbol − min → index into Symbols, or −1

    /// <summary>The distinct symbols, ascending.</summary>
    public int[] Symbols { get; }
    /// <summary>Counts[i]: occurrences of Symbols[i].</summary>
    public long[] Counts { get; }
    /// <summary>Symbols counted.</summary>
    public long Total { get; }

    public SymbolHistogram(ReadOnlySpan<int> symbols)
    {
        Total = symbols.Length;
        if (symbols.IsEmpty) { Symbols = []; Counts = []; return; }
        int min = int.MaxValue, max = int.MinValue;
        foreach (int s in symbols) { if (s < min) min = s; if (s > max) max = s; }
        _min = min;
        if ((long)max - min < DenseRange)
        {
            var counts = new long[max - min + 1];
            foreach (int s in symbols) counts[s - min]++;
            int distinct = counts.Count(c => c > 0);
            Symbols = new int[distinct];
            Counts = new long[distinct];
            _dense = new int[counts.Length];
            for (int v = 0, k = 0; v < counts.Length; v++)
            {
                _dense[v] = counts[v] > 0 ? k : -1;
                if (counts[v] > 0) { Symbols[k] = min + v; Counts[k++] = counts[v]; }
            }
        }
        else
        {
            var counts = new Dictionary<int, long>();
            foreach (int s in symbols) counts[s] = counts.GetValueOrDefault(s) + 1;
            Symbols = counts.Keys.Order().ToArray();
            Counts = Symbols.Select(s => counts[s]).ToArray();
        }
    }

    /// <summary>The index of <paramref name="symbol"/> in <see cref="Symbols"/>, or −1 if it was not counted.</summary>
    public int IndexOf(int symbol)
    {
        if (_dense == null) return Math.Max(-1, Array.BinarySearch(Symbols, symbol));
        long v = (long)symbol - _min;
        return v >= 0 && v < _dense.Length ? _dense[v] : -1;
    }
}
