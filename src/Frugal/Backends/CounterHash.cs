namespace Frugal.Backends;

/// <summary>
/// Counter-based random bits: a pure function of (seed, element index), so a kernel that needs one random
/// number per element gets the same numbers on every backend, in any thread split, and in every run
/// (COMMON.md: no stateful host stream inside kernels). The seed is spread into two 32-bit keys once per
/// call by SplitMix64; each element then costs two rounds of Wellons' "lowbias32" integer hash, which only
/// needs 32-bit multiplies (cheap in SIMD lanes and on a GPU). Both rounds are bijections of the index, so
/// within one tensor no two elements share a value.
/// </summary>
public static class CounterHash
{
    /// <summary>The two per-call keys derived from <paramref name="seed"/> (SplitMix64 finaliser).</summary>
    public static (uint K0, uint K1) Keys(ulong seed)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return ((uint)z, (uint)(z >> 32));
    }

    /// <summary>32 random bits for element <paramref name="index"/> under keys (k0, k1):
    /// lowbias32(lowbias32(index + k0) ^ k1).</summary>
    public static uint Bits(uint index, uint k0, uint k1) => LowBias32(LowBias32(index + k0) ^ k1);

    /// <summary>Chris Wellons' lowbias32 (hash-prospector): xor-shift / multiply rounds with low avalanche bias.</summary>
    public static uint LowBias32(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352DU;
        x ^= x >> 15;
        x *= 0x846CA68BU;
        x ^= x >> 16;
        return x;
    }
}
