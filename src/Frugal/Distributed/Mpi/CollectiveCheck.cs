namespace Frugal.Distributed.Mpi;

/// <summary>
/// The debug mode's comparison of every rank's call before a collective runs (MPI itself leaves a mismatch undefined:
/// a hang, a truncation error or silently wrong data). Every rank compares the same all-gathered records in the same
/// order, so every rank finds the same first difference and fails with the same call named.
/// </summary>
static class CollectiveCheck
{
    /// <summary>Throws when some rank's call differs from <paramref name="mine"/>; <paramref name="all"/> holds
    /// <see cref="CollectiveCall.Longs"/> longs per rank.</summary>
    public static void Compare(CollectiveCall mine, int rank, ReadOnlySpan<long> all)
    {
        int size = all.Length / CollectiveCall.Longs;
        for (int r = 0; r < size; r++)
        {
            var theirs = CollectiveCall.Read(all.Slice(r * CollectiveCall.Longs, CollectiveCall.Longs));
            if (theirs != mine)
                throw new DistributedException($"rank {rank}: collective #{mine.Sequence} mismatch: this rank called {mine.Describe()}, " +
                                               $"rank {r} called {theirs.Describe()}; every rank must make the same calls in the same order");
        }
    }

    /// <summary>
    /// Checks the counts of a v-collective, <paramref name="all"/> holding each rank's <see cref="PendingCollective.Counts"/>
    /// in turn: for all-gatherv every rank must pass the same counts; for all-to-allv what rank i sends to rank k
    /// must be what rank k expects from rank i.
    /// </summary>
    public static void CompareCounts(CollectiveCall call, int rank, int size, ReadOnlySpan<int> all)
    {
        if (call.Kind == CollectiveKind.AllGatherV)
        {
            var mine = all.Slice(rank * size, size);
            for (int r = 0; r < size; r++)
                if (!all.Slice(r * size, size).SequenceEqual(mine))
                    throw new DistributedException($"rank {rank}: {call} mismatch: this rank's counts are [{string.Join(", ", mine.ToArray())}], " +
                                                   $"rank {r}'s are [{string.Join(", ", all.Slice(r * size, size).ToArray())}]");
            return;
        }
        for (int from = 0; from < size; from++)
        for (int to = 0; to < size; to++)
        {
            int sent = all[from * 2 * size + to], expected = all[to * 2 * size + size + from];
            if (sent != expected)
                throw new DistributedException($"rank {rank}: {call} mismatch: rank {from} sends {sent} elements to rank {to}, " +
                                               $"which expects {expected}");
        }
    }
}
