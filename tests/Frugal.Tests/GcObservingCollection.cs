namespace Frugal.Tests;

/// <summary>Tests that watch the garbage collector reclaim and finalise (buffer pools, the caching allocator) run
/// alone: a collection another test starts in parallel promotes their dead objects out of reach of the collection
/// they wait for.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GcObservingCollection
{
    public const string Name = "watches the garbage collector (serial)";
}
