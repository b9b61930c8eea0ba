namespace Frugal.Distributed;

/// <summary>
/// The ranks of a data-parallel job and the collectives between them (MPI's names and semantics). Every rank must call
/// the same collectives in the same order with matching sizes; a mismatch or a rank that never arrives ends in a
/// <see cref="DistributedException"/> naming the call, never a hang (<see cref="Timeout"/>). Buffers are passed as
/// spans and hold the result when the call returns. Implementations: <see cref="SingleProcessGroup"/> (one rank),
/// <see cref="InProcessGroup"/> (N ranks as threads of one process: tests and simulation), MpiProcessGroup (Open MPI).
/// </summary>
public interface IProcessGroup : IDisposable
{
    /// <summary>This process's index, 0 ≤ Rank &lt; Size.</summary>
    int Rank { get; }
    int Size { get; }
    /// <summary>E.g. "Open MPI 4.1.4, 4 ranks on 2 hosts", "in-process, 4 ranks".</summary>
    string Description { get; }
    /// <summary>How long a collective may wait for the other ranks before the job is ended with an error naming it.</summary>
    TimeSpan Timeout { get; }
    /// <summary>What this rank has sent so far.</summary>
    Traffic Traffic { get; }

    void Barrier();
    /// <summary>Copies <paramref name="root"/>'s <paramref name="data"/> into every rank's.</summary>
    void Broadcast<T>(Span<T> data, int root) where T : unmanaged;
    /// <summary>In place: every rank's <paramref name="data"/> becomes the element-wise <paramref name="op"/> of all
    /// ranks' (float, double, int, long).</summary>
    void AllReduce<T>(Span<T> data, ReduceOp op) where T : unmanaged;
    /// <summary><paramref name="receive"/> (Size × send.Length) holds every rank's <paramref name="send"/>, by rank.</summary>
    void AllGather<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged;
    /// <summary>Rank r contributes counts[r] elements; <paramref name="receive"/> (Σ counts) holds them by rank.</summary>
    void AllGatherV<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts) where T : unmanaged;
    /// <summary>Block r of <paramref name="send"/> (send.Length / Size each) goes to rank r; block r of
    /// <paramref name="receive"/> comes from rank r.</summary>
    void AllToAll<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged;
    /// <summary>Like <see cref="AllToAll"/> with sendCounts[r] elements to rank r and receiveCounts[r] from it
    /// (blocks packed in rank order).</summary>
    void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged;

    /// <summary>
    /// Starts a float sum/max all-reduce of <paramref name="data"/> in place and returns at once where the
    /// implementation can overlap it with the caller's work (MPI: a communication thread); the data must not be
    /// touched until <see cref="CollectiveRequest.Wait"/>. Blocking collectives issued meanwhile wait their turn.
    /// </summary>
    CollectiveRequest StartAllReduce(Memory<float> data, ReduceOp op);
}
