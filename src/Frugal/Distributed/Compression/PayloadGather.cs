using System.Buffers;

namespace Frugal.Distributed.Compression;

/// <summary>
/// Every rank's byte payload of its own length, to every rank: the lengths are all-gathered first, then the bytes
/// (MPI_Allgatherv). The exchange of compressors whose coded blocks cannot be summed on the way (sparse payloads,
/// entropy-coded symbols): each rank decodes all of them and adds them up itself, in rank order, so every rank ends
/// with the same bits.
/// </summary>
static class PayloadGather
{
    /// <summary>One rank's payload as it arrived.</summary>
    public delegate void Visitor(int rank, ReadOnlySpan<byte> payload);

    /// <summary>Calls <paramref name="visit"/> for every rank's payload, in rank order; returns the bytes this rank sent
    /// (its 4-byte length and its payload).</summary>
    public static long AllGather(IProcessGroup group, ReadOnlySpan<byte> payload, Visitor visit)
    {
        var counts = new int[group.Size];
        group.AllGather<int>([payload.Length], counts);
        int total = checked(counts.Sum());
        var all = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            group.AllGatherV<byte>(payload, all.AsSpan(0, total), counts);
            for (int r = 0, start = 0; r < counts.Length; start += counts[r++]) visit(r, all.AsSpan(start, counts[r]));
            return 4 + payload.Length;
        }
        finally { ArrayPool<byte>.Shared.Return(all); }
    }
}
