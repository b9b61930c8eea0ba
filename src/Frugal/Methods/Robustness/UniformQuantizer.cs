namespace Frugal.Methods.Robustness;

/// <summary>
/// Per-tensor uniform quantisation on a grid of step Δ through zero (../shared/METHODS.md §5): Q(x) =
/// clamp(round(x/Δ), −Q_N, Q_P)·Δ, with Q_N = 2^(b−1), Q_P = 2^(b−1) − 1 for signed values (two's-complement codes,
/// the grid of LSQ, Esser et al. 2020) and Q_N = 0, Q_P = 2^b − 1 for unsigned ones (activations after a ReLU).
/// Rounding is to nearest, ties to even. For X ~ U[−a, a] the MSE-optimal step is ≈ 2a/2^b (the KURE paper's fact).
/// </summary>
public readonly record struct UniformQuantizer(int Bits, bool Signed)
{
    /// <summary>The most negative code's magnitude, Q_N.</summary>
    public int Qn => Signed ? 1 << (Bits - 1) : 0;
    /// <summary>The largest code, Q_P.</summary>
    public int Qp => Signed ? (1 << (Bits - 1)) - 1 : (1 << Bits) - 1;

    public static UniformQuantizer Create(int bits, bool signed)
    {
        if (bits < 2 || bits > 16) throw new ArgumentOutOfRangeException(nameof(bits), bits, "uniform quantizer: bits must be in 2..16");
        return new UniformQuantizer(bits, signed);
    }

    /// <summary>Q(x) for one value.</summary>
    public float Quantize(float x, float step) => Math.Clamp(MathF.Round(x / step), -Qn, Qp) * step;

    /// <summary>Q(x) element-wise into <paramref name="y"/> (may be <paramref name="x"/>).</summary>
    public void Quantize(ReadOnlySpan<float> x, float step, Span<float> y)
    {
        float inv = 1 / step, lo = -Qn, hi = Qp;
        for (int i = 0; i < x.Length; i++) y[i] = Math.Clamp(MathF.Round(x[i] * inv), lo, hi) * step;
    }

    /// <summary>Mean squared error mean((Q(x) − x)²), in double.</summary>
    public double Mse(ReadOnlySpan<float> x, float step)
    {
        float inv = 1 / step, lo = -Qn, hi = Qp;
        double s = 0;
        foreach (var v in x)
        {
            double e = Math.Clamp(MathF.Round(v * inv), lo, hi) * step - v;
            s += e * e;
        }
        return x.Length == 0 ? 0 : s / x.Length;
    }

    /// <summary>The step that maps the largest magnitude to the last code (no clipping): max|x|/Q_P, the baseline.</summary>
    public float MaxStep(ReadOnlySpan<float> x)
    {
        float m = 0;
        foreach (var v in x) m = MathF.Max(m, MathF.Abs(v));
        return m > 0 ? m / Qp : 1;
    }

    /// <summary>
    /// The MSE-optimal step: a grid of <paramref name="grid"/> steps over (0, max|x|/Q_P] (larger steps only add
    /// rounding error without removing clipping), then golden-section refinement between the best grid point's
    /// neighbours. The MSE is piecewise smooth in Δ with small ripples; the grid keeps the search off a ripple far
    /// from the optimum, the refinement pins it down to ~1e-4 of the grid spacing.
    /// </summary>
    public float MseOptimalStep(ReadOnlySpan<float> x, int grid = 100)
    {
        float top = MaxStep(x);
        int best = grid;
        double bestMse = Mse(x, top);
        for (int i = 1; i < grid; i++)
        {
            double e = Mse(x, top * i / grid);
            if (e < bestMse) { bestMse = e; best = i; }
        }
        double a = top * (best - 1.0) / grid, b = top * Math.Min(best + 1.0, grid) / grid;
        a = Math.Max(a, top * 1e-6);
        const double invPhi = 0.6180339887498949;
        double c = b - invPhi * (b - a), d = a + invPhi * (b - a);
        double fc = Mse(x, (float)c), fd = Mse(x, (float)d);
        for (int it = 0; it < 24; it++)
        {
            if (fc < fd) { b = d; d = c; fd = fc; c = b - invPhi * (b - a); fc = Mse(x, (float)c); }
            else { a = c; c = d; fc = fd; d = a + invPhi * (b - a); fd = Mse(x, (float)d); }
        }
        float found = (float)(fc < fd ? c : d);
        return Mse(x, found) <= bestMse ? found : top * best / grid;
    }

    /// <summary>The power of two next to <paramref name="step"/> (below or above) with the lower MSE: the steps of
    /// shift-only hardware.</summary>
    public float PowerOfTwoStep(ReadOnlySpan<float> x, float step)
    {
        float lo = MathF.Pow(2, MathF.Floor(MathF.Log2(step))), hi = 2 * lo;
        return Mse(x, lo) <= Mse(x, hi) ? lo : hi;
    }
}
