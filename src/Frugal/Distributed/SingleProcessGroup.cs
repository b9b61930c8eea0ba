namespace Frugal.Distributed;

/// <summary>One rank: every collective is the identity (a copy where send and receive differ).</summary>
public sealed class SingleProcessGroup : IProcessGroup
{
    public int Rank => 0;
    public int Size => 1;
    public string Description => "one process";
    public TimeSpan Timeout => System.Threading.Timeout.InfiniteTimeSpan;
    public Traffic Traffic { get; } = new();

    public void Barrier() { }
    public void Broadcast<T>(Span<T> data, int root) where T : unmanaged => CheckRoot(root);
    public void AllReduce<T>(Span<T> data, ReduceOp op) where T : unmanaged { }
    public void AllGather<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged => Copy(send, receive, "all_gather");
    public void AllGatherV<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts) where T : unmanaged
    {
        if (counts.Length != 1 || counts[0] != send.Length)
            throw new ArgumentException($"all_gatherv: counts [{string.Join(", ", counts.ToArray())}] do not match one rank sending {send.Length}");
        Copy(send, receive, "all_gatherv");
    }
    public void AllToAll<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged => Copy(send, receive, "all_to_all");
    public void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged
    {
        if (sendCounts.Length != 1 || receiveCounts.Length != 1 || sendCounts[0] != receiveCounts[0])
            throw new ArgumentException("all_to_allv: one rank sends to itself exactly what it receives");
        Copy(send[..sendCounts[0]], receive, "all_to_allv");
    }
    public CollectiveRequest StartAllReduce(Memory<float> data, ReduceOp op) => CollectiveRequest.Completed;
    public void Dispose() { }

    static void CheckRoot(int root)
    {
        if (root != 0) throw new ArgumentOutOfRangeException(nameof(root), root, "broadcast: a one-rank group has only root 0");
    }

    static void Copy<T>(ReadOnlySpan<T> send, Span<T> receive, string call)
    {
        if (receive.Length != send.Length) throw new ArgumentException($"{call}: receive holds {receive.Length}, one rank sends {send.Length}");
        send.CopyTo(receive);
    }
}
