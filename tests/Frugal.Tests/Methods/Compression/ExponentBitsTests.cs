using Frugal.Methods.Compression;

namespace Frugal.Tests.Methods.Compression;

/// <summary>
/// The exponent-bit choice of METHODS.md §1: the reference table, and the error model that should reproduce it.
/// </summary>
public class ExponentBitsTests
{
    /// <summary>The table's σ₂ bounds per n = 4..8 (METHODS.md §1).</summary>
    static readonly double[][] Bounds = [[0.5], [0.2, 1.0], [0.3, 0.9, 2.0], [0.3, 0.7, 1.7, 4.0], [0.1, 0.6, 1.4, 3.7, 8.1]];

    /// <summary>(n, σ₂ mid-way inside each interval of the table, the table's E); the open last interval
    /// (bound b, ∞) is represented by 1.25·b.</summary>
    public static TheoryData<int, double, int> MidPoints()
    {
        var data = new TheoryData<int, double, int>();
        for (int n = 4; n <= 8; n++)
        {
            var b = Bounds[n - 4];
            for (int i = 0; i <= b.Length; i++)
            {
                double lo = i == 0 ? 0 : b[i - 1], hi = i == b.Length ? 1.5 * b[^1] : b[i];
                data.Add(n, (lo + hi) / 2, i + 1);
            }
        }
        return data;
    }

    [Theory, MemberData(nameof(MidPoints))]
    public void Reference_table_gives_its_column_inside_each_interval(int bits, double sigma2, int e) =>
        Assert.Equal(e, ReferenceTable.ExponentBits(bits, sigma2));

    [Fact]
    public void Reference_table_edges()
    {
        Assert.Equal(1, ReferenceTable.ExponentBits(4, 0.5));     // "≤ 0.5"
        Assert.Equal(2, ReferenceTable.ExponentBits(4, 0.5001));
        Assert.Equal(2, ReferenceTable.ExponentBits(6, 0.9));
        Assert.Equal(4, ReferenceTable.ExponentBits(6, 2.0001));  // beyond the last bound: n − 2
        Assert.Equal(6, ReferenceTable.ExponentBits(8, 100));
        Assert.Equal(1, ReferenceTable.ExponentBits(8, 0));
        Assert.Throws<ArgumentException>(() => ReferenceTable.ExponentBits(3, 1));
        Assert.Throws<ArgumentException>(() => ReferenceTable.ExponentBits(9, 1));
        Assert.Throws<ArgumentException>(() => ReferenceTable.ExponentBits(8, double.NaN));
        Assert.Throws<ArgumentException>(() => ReferenceTable.ExponentBits(8, -1));
    }

    /// <summary>
    /// The error model (formats without infinity, each at its best centre, i.e. its optimal per-layer scale)
    /// against the table. It agrees at 19 of the 20 mid-points. The exception is n = 8, σ₂ = 0.35 (table: E = 2
    /// on 0.1–0.6): the model keeps E = 1 up to σ₂ ≈ 0.41. Model switch points (noise model, bisected to 0.005;
    /// the exact model moves them by at most 0.06), table in brackets:
    /// n=4: 0.58 [0.5]; n=5: 0.53, 1.11 [0.2, 1.0]; n=6: 0.48, 1.03, 1.98 [0.3, 0.9, 2.0];
    /// n=7: 0.45, 0.96, 1.83, 3.57 [0.3, 0.7, 1.7, 4.0]; n=8: 0.41, 0.89, 1.72, 3.22, 6.66 [0.1, 0.6, 1.4, 3.7, 8.1].
    /// With a free centre the two error measures choose identically (the X²-weighted lognormal is the same lognormal
    /// shifted), so both are checked with the same expectations.
    /// </summary>
    [Theory, MemberData(nameof(MidPoints))]
    public void Error_model_reproduces_the_table_at_interval_mid_points(int bits, double sigma2, int tableE)
    {
        int expected = bits == 8 && sigma2 == 0.35 ? 1 : tableE;   // the one disagreement, see above
        foreach (var measure in new[] { ErrorMeasure.RelativeMse, ErrorMeasure.MeanSquaredRelativeError })
            Assert.Equal(expected, FormatError.BestExponentBits(bits, sigma2, SpecialValues.NaNOnly, measure: measure));
    }

    [Fact]
    public void Ieee_like_formats_never_need_a_single_exponent_bit()
    {
        // [1, 1, M] with the top field reserved holds only denormals k·2^(1−M), all of which [1, 2, M−1] holds too.
        var e1 = FloatFormat.Parse("e1m5").NonNegativeValues();
        Assert.Subset(new HashSet<float>(FloatFormat.Parse("e2m4").NonNegativeValues()), new HashSet<float>(e1));
        foreach (double s in new[] { 0.2, 0.4, 1.0 })
            Assert.True(FormatError.BestExponentBits(7, s) >= 2);
    }

    /// <summary>At the fixed centre −3 the relative MSE still picks sensible formats where the scale was meant for
    /// (8 bits, σ₂ ≈ 2–3: E = 5), but not the table's small-E columns: there −3 lies in the denormals of E ≤ 2.</summary>
    [Fact]
    public void At_the_fixed_centre_small_exponents_lose()
    {
        Assert.Equal(4, FormatError.BestExponentBits(8, 0.35, SpecialValues.NaNOnly, mean2: -3));
        Assert.Equal(5, FormatError.BestExponentBits(8, 2.55, SpecialValues.NaNOnly, mean2: -3));
        // ...while the same format at its best centre is far better than at −3 for a wide distribution.
        var e4m3 = FloatFormat.E4M3FN;
        Assert.True(FormatError.Expected(e4m3, 2.5, FormatError.BestCentre(e4m3, 2.5)) < FormatError.Expected(e4m3, 2.5, -3) / 10);
    }

    [Fact]
    public void Noise_model_is_close_to_the_exact_rounding_error_inside_the_normal_range()
    {
        // For a distribution well inside the normal range the only approximation is the uniform Δ²/12 per binade,
        // which is second order: its relative error is O(2^−M) from the lognormal density's slope across a step.
        foreach (var f in new[] { FloatFormat.E4M3FN, FloatFormat.E5M2, new FloatFormat(3, 4) })
        {
            double exact = FormatError.Expected(f, 0.7, 0, model: ErrorModel.Exact);
            double noise = FormatError.Expected(f, 0.7, 0, model: ErrorModel.Noise);
            Assert.InRange(noise / exact, 1 - Math.Pow(2, -f.MantissaBits), 1 + Math.Pow(2, -f.MantissaBits));
        }
    }

    [Fact]
    public void Bad_arguments()
    {
        Assert.Throws<ArgumentException>(() => FormatError.Expected(FloatFormat.E5M2, 0));
        Assert.Throws<ArgumentException>(() => FormatError.BestExponentBits(2, 1));
        Assert.Throws<ArgumentException>(() => FormatError.BestExponentBits(17, 1));
    }
}
