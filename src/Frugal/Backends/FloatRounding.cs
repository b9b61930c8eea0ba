namespace Frugal.Backends;

/// <summary>
/// The scalar reference of <see cref="IBackend.QuantizeFloat"/>: rounding a float32 to a low-bit floating-point
/// format [1, E, M] (bias 2^(E−1)−1, denormals kept) and back, as METHODS.md §1 (Chmiel et al., ICLR 2021) uses
/// for neural gradients. Every backend's kernel must give exactly these bits; the CPU kernel's SIMD body and
/// this function are compared in the tests. Written in double, where every step below is exact.
/// </summary>
/// <remarks>
/// Algorithm, for v = x·scale (one float32 multiply) with |v| in the float binade of biased exponent b:
/// the target's quantum at |v| is 2^qe with qe = clamp(b, 127 + emin, 254) − 127 − M (emin = 1 − bias: below the
/// smallest normal binade the step stays that of the denormals). t = |v|·2^−qe is exact and below 2^(M+1);
/// k = round-half-even(t), or for stochastic rounding k = ⌊t⌋ + [u &lt; t − ⌊t⌋] with u the 24 bits of
/// <see cref="CounterRandom.Bits24(uint, uint)"/>(key, index) divided by 2^24 (exactly unbiased whenever t has at most 24 fractional
/// bits, which covers every input above the denormal range; below it the probability of rounding up is
/// t − ⌊t⌋ rounded up to a multiple of 2^−24). The result k·2^qe is exact in float32, then min(·, MaxFinite),
/// the sign is put back and the float32 is divided by scale.
/// <para>Saturation: finite values beyond the largest finite value become ±MaxFinite instead of ±inf. Neural
/// gradients have a heavy upper tail; an infinity would turn into NaN in the next GEMM and end the run, while
/// the clipped value only loses the tail's excess (the MSE model of METHODS.md counts exactly this clipping
/// error). It is OCP FP8's saturating conversion mode. The reference code (lowp) returns inf instead; with the
/// per-layer scale that centres log2|g| at −3 the two differ only for values that already lost the tail.</para>
/// <para>Non-finite inputs are kept visible: NaN stays NaN; ±inf stays ±inf in an IEEE-like format and becomes
/// NaN in a NaN-only format (it has no infinity), because an infinite gradient means the overflow already
/// happened upstream and clipping it would hide that from the trainer.</para>
/// </remarks>
public static class FloatRounding
{
    /// <summary>The largest exponent-field width: wider exponents leave float32's range.</summary>
    public const int MaxExponentBits = 8;
    /// <summary>1 + E + M at most (E5M10 = IEEE half, E8M7 = bfloat16).</summary>
    public const int MaxTotalBits = 16;

    /// <summary>1 − bias: the exponent of the smallest normal binade.</summary>
    public static int MinExponent(int exponentBits) => 2 - (1 << (exponentBits - 1));

    /// <summary>The largest finite magnitude of [1, E, M]. IEEE-like: top exponent field reserved, so the largest
    /// is 2^(2^E−2−bias)·(2 − 2^−M), or the largest denormal when E = 1 (no normal field is left).
    /// NaN-only: only the all-ones mantissa of the top field is NaN, so 2^(2^E−1−bias)·(2 − 2^(1−M)).</summary>
    public static double MaxFinite(int exponentBits, int mantissaBits, bool infNaN)
    {
        int bias = (1 << (exponentBits - 1)) - 1, top = (1 << exponentBits) - 1;
        if (!infNaN) return Math.ScaleB(2 - Math.ScaleB(1.0, 1 - mantissaBits), top - bias);
        if (top - 1 == 0) return ((1 << mantissaBits) - 1) * Math.ScaleB(1.0, 1 - bias - mantissaBits);
        return Math.ScaleB(2 - Math.ScaleB(1.0, -mantissaBits), top - 1 - bias);
    }

    /// <summary>Throws unless [1, E, M] is a format the kernels support.</summary>
    public static void Validate(string op, int exponentBits, int mantissaBits, bool infNaN)
    {
        if (exponentBits < 1 || exponentBits > MaxExponentBits)
            throw new ArgumentException($"{op}: exponent bits must be in 1..{MaxExponentBits}, got {exponentBits}");
        if (mantissaBits < 1)
            throw new ArgumentException($"{op}: mantissa bits must be at least 1 (an IEEE-like format needs one to tell NaN from inf), got {mantissaBits}");
        if (1 + exponentBits + mantissaBits > MaxTotalBits)
            throw new ArgumentException($"{op}: format e{exponentBits}m{mantissaBits} has {1 + exponentBits + mantissaBits} bits; at most {MaxTotalBits} are supported");
        if (MaxFinite(exponentBits, mantissaBits, infNaN) > float.MaxValue)
            throw new ArgumentException($"{op}: format e{exponentBits}m{mantissaBits}{(infNaN ? "" : "fn")} reaches beyond float32's range");
    }

    /// <summary>The constants of one kernel call, derived once.</summary>
    public readonly struct Spec
    {
        public readonly int MantissaBits, MinBiased;
        public readonly bool InfNaN, Stochastic;
        public readonly float Scale, MaxFinite;
        /// <summary>The random key of stochastic rounding, <see cref="CounterRandom.Key"/>(seed).</summary>
        public readonly uint Key;

        public Spec(int exponentBits, int mantissaBits, bool infNaN, float scale, bool stochastic, ulong seed)
        {
            Validate("quantize_float", exponentBits, mantissaBits, infNaN);
            if (!(float.IsFinite(scale) && scale > 0))
                throw new ArgumentException($"quantize_float: scale must be finite and positive, got {scale}");
            MantissaBits = mantissaBits;
            MinBiased = 127 + MinExponent(exponentBits);
            InfNaN = infNaN; Stochastic = stochastic; Scale = scale;
            MaxFinite = (float)MaxFinite(exponentBits, mantissaBits, infNaN);
            Key = CounterRandom.Key(seed);
        }
    }

    /// <summary>Q(x·scale)/scale for the element at <paramref name="index"/> (the index only matters for stochastic rounding).</summary>
    public static float Quantize(float x, in Spec s, uint index)
    {
        if (!float.IsFinite(x)) return s.InfNaN ? x : float.NaN;
        float v = x * s.Scale;
        uint bits = BitConverter.SingleToUInt32Bits(v);
        uint sign = bits & 0x8000_0000u, a = bits & 0x7FFF_FFFFu;
        int qe = Math.Clamp((int)(a >> 23), s.MinBiased, 254) - 127 - s.MantissaBits;
        double t = BitConverter.UInt32BitsToSingle(a) * Math.ScaleB(1.0, -qe);
        double k;
        if (s.Stochastic)
        {
            double floor = Math.Floor(t);
            double u = CounterRandom.Bits24(s.Key, index);
            k = floor + (u < (t - floor) * 16777216.0 ? 1 : 0);
        }
        else k = Math.Round(t, MidpointRounding.ToEven);
        float r = (float)Math.Min(k * Math.ScaleB(1.0, qe), s.MaxFinite);
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(r) | sign) / s.Scale;
    }
}
