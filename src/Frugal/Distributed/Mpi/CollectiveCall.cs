namespace Frugal.Distributed.Mpi;

/// <summary>The collectives of <see cref="IProcessGroup"/>, plus the barrier that ends the job.</summary>
enum CollectiveKind { Barrier, Broadcast, AllReduce, AllGather, AllGatherV, AllToAll, AllToAllV, Finalize }

/// <summary>
/// One collective as this rank called it: what every rank must agree on. <paramref name="Count"/> is the element
/// count every rank shares (all-reduce and broadcast: the buffer; all-gather(v): the whole result; all-to-all(v): 0,
/// its counts are checked separately), <paramref name="Argument"/> the root or the <see cref="ReduceOp"/>.
/// In the debug mode every rank all-gathers these as four longs and compares them before the collective runs.
/// </summary>
readonly record struct CollectiveCall(CollectiveKind Kind, long Sequence, long Count, int Argument, int ElementSize)
{
    public const int Longs = 4;

    public string Name => Kind switch
    {
        CollectiveKind.Barrier => "barrier",
        CollectiveKind.Broadcast => "broadcast",
        CollectiveKind.AllReduce => "all_reduce",
        CollectiveKind.AllGather => "all_gather",
        CollectiveKind.AllGatherV => "all_gatherv",
        CollectiveKind.AllToAll => "all_to_all",
        CollectiveKind.AllToAllV => "all_to_allv",
        _ => "finalize",
    };

    /// <summary>"all_reduce #7 (1000 elements)": the call as the timeout and error messages name it.</summary>
    public override string ToString() => $"{Name} #{Sequence} ({Count} elements)";

    /// <summary>The call with everything that must match: "all_reduce #7 of 1000 4-byte elements, sum".</summary>
    public string Describe()
    {
        string argument = Kind switch
        {
            CollectiveKind.Broadcast => $", root {Argument}",
            CollectiveKind.AllReduce => $", {((ReduceOp)Argument).ToString().ToLowerInvariant()}",
            _ => "",
        };
        return $"{Name} #{Sequence} of {Count} {ElementSize}-byte elements{argument}";
    }

    public void Write(Span<long> into)
    {
        into[0] = (int)Kind;
        into[1] = Sequence;
        into[2] = Count;
        into[3] = (long)Argument << 32 | (uint)ElementSize;
    }

    public static CollectiveCall Read(ReadOnlySpan<long> from) =>
        new((CollectiveKind)from[0], from[1], from[2], (int)(from[3] >> 32), (int)from[3]);
}
