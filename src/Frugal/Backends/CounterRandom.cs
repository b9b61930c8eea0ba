using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Frugal.Backends;

/// <summary>
/// The counter-based random numbers of every kernel (stochastic rounding in <see cref="IBackend.QuantizeFloat"/>,
/// stochastic pruning in <see cref="IBackend.Prune"/>): the bits for element i of a call are a pure function of
/// (seed, i), so a kernel gives the same result on every backend, for any thread split, and on replay. A stateful
/// host stream could not be shared by GPU threads; a hash of the counter can (the idea of Philox/Threefry, Salmon et
/// al. SC 2011, in its cheapest form). Every backend must reproduce these bits exactly; this class is the scalar
/// reference, <see cref="Bits24(Vector{uint}, Vector{uint})"/> the CPU kernels' lane version.
/// </summary>
/// <remarks>
/// The recipe, bit for bit (all arithmetic mod 2⁶⁴ resp. 2³², shifts logical):
/// <code>
/// key  = fold(splitmix64(seed)):  z = seed + 0x9E3779B97F4A7C15
///                                 z = (z ^ z >> 30) · 0xBF58476D1CE4E5B9
///                                 z = (z ^ z >> 27) · 0x94D049BB133111EB
///                                 z = z ^ z >> 31;   key = (uint32)(z ^ z >> 32)       (once per call, on the host)
/// h    = i · 0x9E3779B9 + key                                                          (i: the element's flat index, uint32)
/// h    = fmix32(h):  h ^= h >> 16;  h ·= 0x85EBCA6B;  h ^= h >> 13;  h ·= 0xC2B2AE35;  h ^= h >> 16
/// bits = h >> 8                                                                        (24 bits)
/// u    = bits · 2⁻²⁴                                                                   (exact in float32, in [0, 1))
/// </code>
/// Why this one of the two generators the kernels once had (the other was two rounds of Wellons' lowbias32 with a
/// 64-bit key): both are 32-bit-lane integer code, but this one is one round (three 32-bit multiplies instead of
/// four, half the shifts and xors), 1.7× the lane throughput of the other with AVX2 (Vector&lt;uint&gt; of 8 lanes:
/// 0.28 against 0.49 ms per 2²⁰ values, best of 4 runs on a shared 2-core machine), and as cheap on a GPU. What it gives up: the key is 32 bits and enters
/// additively, so two seeds' streams are the same sequence shifted by an index offset (key′ − key)·0x9E3779B9⁻¹.
/// Within one call the values are distinct (a bijection of i), and for the per-(step, layer) seeds of
/// <see cref="Combine"/> a shift only pairs unrelated elements of unrelated tensors, so it does not bias anything.
/// </remarks>
public static class CounterRandom
{
    /// <summary>Weyl step applied to the element index before mixing (2³²/φ, odd).</summary>
    public const uint Golden = 0x9E3779B9u;

    /// <summary>2⁻²⁴: scales 24 random bits to a uniform in [0, 1).</summary>
    public const float Inv24 = 1f / (1 << 24);

    /// <summary>The 32-bit key a kernel call uses: the 64-bit seed mixed by SplitMix64 (Steele et al. 2014) and folded.</summary>
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
    public static uint Bits24(uint key, uint index) => Mix(index * Golden + key) >> 8;

    /// <summary>Uniform in [0, 1) on the 2⁻²⁴ grid (exact in float) for element <paramref name="index"/>.</summary>
    public static float Uniform(uint key, uint index) => Bits24(key, index) * Inv24;

    /// <summary><see cref="Bits24(uint, uint)"/> in SIMD lanes: lane l gets the bits of index[l].</summary>
    public static Vector<uint> Bits24(Vector<uint> key, Vector<uint> index)
    {
        var h = index * new Vector<uint>(Golden) + key;
        h ^= Vector.ShiftRightLogical(h, 16); h *= new Vector<uint>(0x85EBCA6Bu);
        h ^= Vector.ShiftRightLogical(h, 13); h *= new Vector<uint>(0xC2B2AE35u);
        h ^= Vector.ShiftRightLogical(h, 16);
        return Vector.ShiftRightLogical(h, 8);
    }

    /// <summary><see cref="Bits24(uint, uint)"/> in 16 lanes (AVX-512), for kernels that go wider than Vector&lt;T&gt;.</summary>
    public static Vector512<uint> Bits24(Vector512<uint> key, Vector512<uint> index) => Bits24OfWeyl(index * Vector512.Create(Golden) + key);

    /// <summary><see cref="Bits24(Vector512{uint}, Vector512{uint})"/> from the lanes' index·<see cref="Golden"/> + key
    /// (a Weyl sequence): a kernel walking consecutive indices adds 16·Golden per vector instead of multiplying, the
    /// same bits with one multiply of three fewer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Bits24OfWeyl(Vector512<uint> weyl)
    {
        var h = weyl;
        h ^= Vector512.ShiftRightLogical(h, 16); h *= Vector512.Create(0x85EBCA6Bu);
        h ^= Vector512.ShiftRightLogical(h, 13); h *= Vector512.Create(0xC2B2AE35u);
        h ^= Vector512.ShiftRightLogical(h, 16);
        return Vector512.ShiftRightLogical(h, 8);
    }

    /// <summary>A per-call seed from a run seed and up to two counters (step, layer), so no two calls get the same seed.</summary>
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
