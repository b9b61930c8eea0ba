namespace Frugal.Methods.Compression;

/// <summary>
/// The exponent-bit table of METHODS.md §1 (Chmiel et al., ICLR 2021, reference code): for an n-bit gradient
/// format [1, E, n−1−E], E follows from σ₂ = std of log2|g| of the layer's gradient.
/// </summary>
/// <remarks>The table's E = 1 column only pays off without reserved codes: an IEEE-like [1, 1, M] holds only the
/// denormals k·2^(1−M), a subset of [1, 2, M−1]. The error model reproduces the table for NaN-only formats, each at
/// its best scale (19 of 20 interval mid-points; <see cref="FormatError.BestExponentBits"/>).</remarks>
public static class ReferenceTable
{
    /// <summary>Upper σ₂ bound of each E = 1, 2, … column, per n = 4..8 (the last column, E = n − 2, is open).</summary>
    static readonly double[][] Bounds =
    [
        [0.5],                      // n = 4
        [0.2, 1.0],                 // n = 5
        [0.3, 0.9, 2.0],            // n = 6
        [0.3, 0.7, 1.7, 4.0],       // n = 7
        [0.1, 0.6, 1.4, 3.7, 8.1],  // n = 8
    ];

    /// <summary>The upper σ₂ bounds of the E = 1 … n−3 columns for n bits.</summary>
    public static IReadOnlyList<double> ColumnBounds(int bits) => Bounds[CheckBits(bits) - 4];

    /// <summary>
    /// E = the first column whose bound is ≥ σ₂, else n − 2. The table writes its first column as "≤ bound",
    /// so a σ₂ exactly on a bound takes the smaller E (METHODS.md's prose says "exceeds"; the two differ only
    /// on the bound itself).
    /// </summary>
    public static int ExponentBits(int bits, double sigma2)
    {
        if (!(sigma2 >= 0) || double.IsInfinity(sigma2))
            throw new ArgumentException($"exponent bits: σ₂ (std of log2|g|) must be finite and ≥ 0, got {sigma2}");
        var bounds = Bounds[CheckBits(bits) - 4];
        for (int i = 0; i < bounds.Length; i++)
            if (sigma2 <= bounds[i]) return i + 1;
        return bits - 2;
    }

    static int CheckBits(int bits) => bits is >= 4 and <= 8 ? bits
        : throw new ArgumentException($"exponent bits: the reference table covers 4..8-bit formats, got {bits} bits");
}
