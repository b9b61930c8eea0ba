namespace Frugal.Methods.Entropy;

/// <summary>
/// The uniform quantiser of ../shared/METHODS.md §4.1 that turns weights, updates or gradients into integer symbols:
/// q = clip(round(x/s), −K, K). Its step is fixed, or relative to the RMS of what is quantised: s = 3·RMS(x)/2^(b−1)
/// with K = 2^(b−1), so the 2^b + 1 levels span ±3·RMS and anything beyond clips.
/// </summary>
public static class SymbolQuantizer
{
    /// <summary>√(mean x²) in double; 0 for no values.</summary>
    public static double Rms(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return 0;
        double sum = 0;
        foreach (float v in x) sum += (double)v * v;
        return Math.Sqrt(sum / x.Length);
    }

    /// <summary>§4.1's step for b bits: s = 3·RMS/2^(b−1).</summary>
    public static double RmsStep(double rms, int bits) => 3 * rms / Math.ScaleB(1, bits - 1);

    /// <summary>K = 2^(b−1), the largest |q| of a b-bit quantiser.</summary>
    public static int Limit(int bits) => 1 << (bits - 1);

    /// <summary>q[i] = clip(round(x[i]/s), −limit, limit), rounding half to even; a step of 0 gives zeros (so does a
    /// NaN value).</summary>
    public static void Quantize(ReadOnlySpan<float> x, double step, int limit, Span<int> q)
    {
        if (q.Length != x.Length) throw new ArgumentException($"quantize: {x.Length} values, {q.Length} symbols");
        if (!(step > 0)) { q.Clear(); return; }
        double inverse = 1 / step;
        for (int i = 0; i < x.Length; i++) q[i] = Level(x[i] * inverse, limit);
    }

    /// <summary>As <see cref="Quantize(ReadOnlySpan{float}, double, int, Span{int})"/>, and residual[i] = x[i] − s·q[i] in fp32 (error feedback keeps it for the next
    /// round): the receiver adds exactly the float s·q[i].</summary>
    public static void Quantize(ReadOnlySpan<float> x, float step, int limit, Span<int> q, Span<float> residual)
    {
        if (q.Length != x.Length || residual.Length != x.Length)
            throw new ArgumentException($"quantize: {x.Length} values, {q.Length} symbols, {residual.Length} residuals");
        if (!(step > 0)) { q.Clear(); x.CopyTo(residual); return; }
        double inverse = 1 / (double)step;
        for (int i = 0; i < x.Length; i++)
        {
            int level = Level(x[i] * inverse, limit);
            q[i] = level;
            residual[i] = x[i] - step * level;
        }
    }

    static int Level(double scaled, int limit)
    {
        double r = Math.Round(scaled);
        return r >= limit ? limit : r <= -limit ? -limit : double.IsNaN(r) ? 0 : (int)r;
    }
}
