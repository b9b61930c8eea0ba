using System.Buffers;

namespace Frugal.Methods.Entropy;

/// <summary>
/// The static model of a <see cref="Rans"/> block: the coded symbols with frequencies that sum to M = 2^scale_bits,
/// and an escape entry for the symbols left out of the table (those seen once, and any beyond the
/// <c>maxSymbols</c> most frequent), whose values travel raw after the stream. It is stored in the block, so the coded
/// size is honest: symbols as the first value and then gaps, frequencies as varints, the last one implied by the sum.
/// </summary>
internal sealed class RansModel
{
    /// <summary>Table symbols, ascending (entry j codes Symbols[j]; entry Symbols.Length is the escape).</summary>
    public int[] Symbols { get; }
    /// <summary>Frequencies of the entries, the escape's last (0 if it has none), summing to 2^ScaleBits.</summary>
    public int[] Frequencies { get; }
    /// <summary>Cumulative frequencies: Starts[e] = Σ_{j&lt;e} Frequencies[j].</summary>
    public int[] Starts { get; }
    public int ScaleBits { get; }
    public int Escape => Symbols.Length;
    /// <summary>One entry holds all of M: every symbol is that entry and the stream is empty.</summary>
    public bool IsTrivial => Frequencies.Count(f => f > 0) == 1;

    RansModel(int[] symbols, int[] frequencies, int scaleBits)
    {
        Symbols = symbols;
        Frequencies = frequencies;
        ScaleBits = scaleBits;
        Starts = new int[frequencies.Length];
        for (int e = 1; e < frequencies.Length; e++) Starts[e] = Starts[e - 1] + frequencies[e - 1];
    }

    /// <summary>The model of <paramref name="histogram"/>: its (at most <paramref name="maxSymbols"/>) most frequent
    /// symbols seen at least twice, the rest escaped; frequencies quantised to M = 2^<paramref name="scaleBits"/> with
    /// every entry at least 1.</summary>
    /// <param name="histogram">The block's symbols, counted.</param>
    /// <param name="scaleBits">log₂ M.</param>
    /// <param name="maxSymbols">Table entries at most, besides the escape.</param>
    /// <param name="entryOf">Per histogram index, the entry that codes it (the escape for left-out symbols).</param>
    public static RansModel Build(SymbolHistogram histogram, int scaleBits, int maxSymbols, out int[] entryOf)
    {
        var counts = histogram.Counts;
        var kept = Enumerable.Range(0, counts.Length).Where(i => counts[i] >= 2)
            .OrderByDescending(i => counts[i]).ThenBy(i => i).Take(maxSymbols).Order().ToArray();
        entryOf = new int[counts.Length];
        Array.Fill(entryOf, kept.Length);
        for (int j = 0; j < kept.Length; j++) entryOf[kept[j]] = j;
        var weights = new long[kept.Length + 1];
        for (int j = 0; j < kept.Length; j++) weights[j] = counts[kept[j]];
        weights[^1] = histogram.Total - weights.Sum();
        return new RansModel(kept.Select(i => histogram.Symbols[i]).ToArray(), Quantize(weights, 1 << scaleBits), scaleBits);
    }

    /// <summary>Frequencies ∝ <paramref name="weights"/> summing to <paramref name="total"/>, each non-zero weight at
    /// least 1: rounded shares, the surplus or shortfall taken from or given to the largest entries (where a change of
    /// one costs the least code length).</summary>
    internal static int[] Quantize(long[] weights, int total)
    {
        double sum = weights.Sum();
        var f = weights.Select(w => w == 0 ? 0 : (int)Math.Max(1, Math.Round(w * (double)total / sum))).ToArray();
        int diff = total - f.Sum();
        var byWeight = Enumerable.Range(0, f.Length).Where(e => f[e] > 0).OrderByDescending(e => weights[e]).ToArray();
        if (diff > 0) f[byWeight[0]] += diff;
        while (diff < 0)
            foreach (int e in byWeight)
            {
                if (f[e] > 1) { f[e]--; diff++; }
                if (diff == 0) break;
            }
        return f;
    }

    public void Write(IBufferWriter<byte> output)
    {
        Leb128.Write(output, (ulong)Symbols.Length);
        Leb128.Write(output, (ulong)Frequencies[Escape]);
        for (int j = 0; j < Symbols.Length; j++)
            if (j == 0) Leb128.WriteSigned(output, Symbols[0]);
            else Leb128.Write(output, (ulong)((long)Symbols[j] - Symbols[j - 1] - 1));
        for (int j = 0; j + 1 < Symbols.Length; j++) Leb128.Write(output, (ulong)(Frequencies[j] - 1));
    }

    public static RansModel Read(ReadOnlySpan<byte> data, ref int position, int scaleBits)
    {
        int total = 1 << scaleBits;
        int count = Leb128.ReadCount(data, ref position, total, "table size");
        int escape = Leb128.ReadCount(data, ref position, total, "escape frequency");
        var symbols = new int[count];
        long previous = 0;
        for (int j = 0; j < count; j++)
        {
            long s = j == 0 ? Leb128.ReadSigned(data, ref position) : previous + 1 + (long)Leb128.Read(data, ref position);
            if (s < int.MinValue || s > int.MaxValue) throw new InvalidDataException($"rans: table symbol {s} is not a 32-bit integer");
            symbols[j] = (int)(previous = s);
        }
        var f = new int[count + 1];
        f[count] = escape;
        long sum = escape;
        for (int j = 0; j + 1 < count; j++) sum += f[j] = 1 + Leb128.ReadCount(data, ref position, total - 1, "frequency");
        if (count > 0) f[count - 1] = (int)(total - sum);
        if (sum + (count > 0 ? 1 : 0) > total || (count == 0 && escape != total))
            throw new InvalidDataException($"rans: the frequencies do not sum to {total}");
        return new RansModel(symbols, f, scaleBits);
    }
}
