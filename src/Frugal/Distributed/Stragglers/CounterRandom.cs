namespace Frugal.Distributed.Stragglers;

/// <summary>
/// Random numbers addressed by key instead of drawn from a stream: the value for (seed, stream, rank, step, index) is
/// a hash (SplitMix64's finaliser, applied per key part), so any rank can draw its own without coordination, a replay
/// or a simulation of 1024 workers gets the same numbers in any order, and adding a draw never shifts the others.
/// </summary>
static class CounterRandom
{
    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public static double Uniform(ulong seed, ulong stream, long rank, long step, long index) =>
        (Hash(seed, stream, rank, step, index) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal by Box–Muller from two keyed uniforms.</summary>
    public static double Normal(ulong seed, ulong stream, long rank, long step, long index)
    {
        ulong h = Hash(seed, stream, rank, step, index);
        double u1 = ((h >> 11) + 1) * (1.0 / ((1UL << 53) + 1));        // (0, 1): the logarithm stays finite
        double u2 = (Mix(h ^ 0xD1B54A32D192ED03UL) >> 11) * (1.0 / (1UL << 53));
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    public static ulong Hash(ulong seed, ulong stream, long rank, long step, long index)
    {
        ulong h = Mix(seed ^ Mix(stream));
        h = Mix(h ^ (ulong)rank);
        h = Mix(h ^ (ulong)step);
        return Mix(h ^ (ulong)index);
    }

    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
