using System.Numerics;
using Frugal.Backends;

namespace Frugal.Tests.Backends;

/// <summary>The kernels' one counter-based generator: pinned to the documented recipe (every backend must give these
/// bits), the lane version equal to the scalar one, a bijection of the index, seed-dependent, roughly uniform.</summary>
public class CounterRandomTests
{
    [Fact]
    public void Bits_follow_the_documented_recipe()
    {
        // Computed by an independent implementation of the recipe in CounterRandom's remarks (Python integers).
        Assert.Equal(0x993d6596u, CounterRandom.Key(0));
        Assert.Equal(0x9414eac0u, CounterRandom.Key(1234));
        uint k = CounterRandom.Key(1234);
        Assert.Equal([0x1f1ddbu, 0x3d524bu, 0x499d26u, 0x219cbfu, 0xcd4db4u],
            new uint[] { 0, 1, 2, 1000, uint.MaxValue }.Select(i => CounterRandom.Bits24(k, i)));
        Assert.Equal(0x353bb3u, CounterRandom.Bits24(CounterRandom.Key(0), 0));
        Assert.Equal(0x1f1ddb * (1.0 / (1 << 24)), CounterRandom.Uniform(k, 0));
    }

    [Fact]
    public void Lane_version_matches_the_scalar_reference()
    {
        uint key = CounterRandom.Key(77);
        int w = Vector<uint>.Count;
        foreach (uint start in new uint[] { 0, 5, 1_000_003, uint.MaxValue - 3 })
        {
            var v = CounterRandom.Bits24(new Vector<uint>(key), new Vector<uint>(start) + Vector<uint>.Indices);
            for (int l = 0; l < w; l++) Assert.Equal(CounterRandom.Bits24(key, unchecked(start + (uint)l)), v[l]);
        }
    }

    [Fact]
    public void Hash_is_a_bijection_of_the_index_and_depends_on_the_seed()
    {
        uint k = CounterRandom.Key(1), j = CounterRandom.Key(2);
        var seen = new HashSet<uint>();
        for (uint i = 0; i < 100_000; i++) Assert.True(seen.Add(CounterRandom.Mix(i * CounterRandom.Golden + k)));
        Assert.NotEqual(CounterRandom.Bits24(k, 0), CounterRandom.Bits24(j, 0));
        // 24 bits roughly uniform: the mean of 10⁵ draws of u ∈ [0, 1) is 0.5 ± 5·0.29/√10⁵ = ±0.0046.
        double mean = Enumerable.Range(0, 100_000).Average(i => (double)CounterRandom.Uniform(k, (uint)i));
        Assert.InRange(mean, 0.5 - 0.0046, 0.5 + 0.0046);
    }
}
