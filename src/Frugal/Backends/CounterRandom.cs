namespace Frugal.Backends;

/// <summary>
/// Counter-based random numbers for kernels: the uniform for element i of a call is a pure function of
/// (seed, i), so a kernel gives the same result on every backend, for any thread split, and on replay.
/// A stateful host stream could not be shared by GPU threads; a hash of the counter can (the idea of
/// Philox/Threefry, Salmon et al. SC 2011, in its cheapest form). Every backend must use this exact
/// function; it is the scalar reference the CPU kernels' vector paths are tested against.
/// </summary>
public static class CounterRandom
{
    /// <summary>Weyl step applied to the element index before mixing (2³²/φ, odd).</summary>
    public const uint Golden = 0x9E3779B9u;

    /// <summary>The 32-bit key a kernel call uses: the 64-bit seed folded by SplitMix64 (Steele et al. 2014).</summary>
    public static uint Key(ulong seed)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (uint)(z ^ (z >> 32));
    }

    /// <summary>MurmurHash3's 32-bit finaliser: a bijection with full avalanche, 2 multiplies and 3 shifts,
    /// so it vectorises with 32-bit lanes (no 64-bit multiply, which AVX2 lacks).</summary>
    public static uint Mix(uint h)
    {
        h ^= h >> 16; h *= 0x85EBCA6Bu;
        h ^= h >> 13; h *= 0xC2B2AE35u;
        return h ^ (h >> 16);
    }

    /// <summary>24 random bits for element <paramref name="index"/> under <paramref name="key"/>.</summary>
    public static uint Bits24(uint key, int index) => Mix((uint)index * Golden + key) >> 8;

    /// <summary>Uniform in [0, 1) on the 2⁻²⁴ grid (exact in float) for element <paramref name="index"/>.</summary>
    public static float Uniform(uint key, int index) => Bits24(key, index) * (1f / (1 << 24));

    /// <summary>A per-call seed from a run seed and up to two counters (step, layer), so calls never share a stream.</summary>
    public static ulong Combine(ulong seed, long a, long b)
    {
        ulong s = seed;
        s = Key64(s ^ (ulong)a);
        return Key64(s ^ ((ulong)b * 0xD1B54A32D192ED03UL));
    }

    static ulong Key64(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
