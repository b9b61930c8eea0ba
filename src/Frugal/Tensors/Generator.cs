namespace Frugal.Tensors;

/// <summary>
/// Seeded random numbers (xoshiro256** seeded by SplitMix64). Random tensors are drawn on the
/// host and copied to the device, so the same seed gives the same numbers on every backend
/// and every run.
/// </summary>
public sealed class Generator
{
    ulong _s0, _s1, _s2, _s3;

    public Generator(ulong seed) => Reseed(seed);

    /// <summary>The process-wide default generator; <see cref="ManualSeed"/> resets it.</summary>
    public static Generator Default { get; private set; } = new(0);
    public static void ManualSeed(ulong seed) => Default = new Generator(seed);

    public void Reseed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>The full state, for checkpoints that must resume the exact random sequence.</summary>
    public ulong[] State
    {
        get => [_s0, _s1, _s2, _s3];
        set { _s0 = value[0]; _s1 = value[1]; _s2 = value[2]; _s3 = value[3]; }
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextULong()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, 1) as float (24 random bits).</summary>
    public float NextFloat() => (NextULong() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [0, n), unbiased (Lemire's method).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"NextInt: bound must be positive, got {n}");
        ulong m = (ulong)(uint)NextULong() * (ulong)n;
        if ((uint)m < (uint)n)
        {
            uint t = (uint)(-n) % (uint)n;
            while ((uint)m < t) m = (ulong)(uint)NextULong() * (ulong)n;
        }
        return (int)(m >> 32);
    }

    /// <summary>Standard normal by Box–Muller (both values used).</summary>
    public void FillNormal(Span<float> dst, float mean = 0, float std = 1)
    {
        for (int i = 0; i < dst.Length; i += 2)
        {
            double u1 = 1.0 - NextDouble(), u2 = NextDouble();
            double r = Math.Sqrt(-2.0 * Math.Log(u1)), th = 2 * Math.PI * u2;
            dst[i] = (float)(mean + std * r * Math.Cos(th));
            if (i + 1 < dst.Length) dst[i + 1] = (float)(mean + std * r * Math.Sin(th));
        }
    }

    public void FillUniform(Span<float> dst, float low = 0, float high = 1)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = low + (high - low) * NextFloat();
    }

    /// <summary>A uniformly random permutation of 0..n-1 (Fisher–Yates).</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) { int j = NextInt(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }
}
