using System.Buffers;

namespace Frugal.Distributed.Mpi;

/// <summary>Starts a non-blocking MPI collective and stores its request; returns the MPI error code.</summary>
unsafe delegate int IssueCollective(nint* request);

/// <summary>
/// A collective queued for the communication thread: what to issue, the call every rank must match, and for the
/// v-variants the counts the debug mode cross-checks. It is its own <see cref="CollectiveRequest"/>: the caller
/// waits on it, and a pinned buffer (<see cref="IProcessGroup.StartAllReduce"/>) is released when it completes.
/// </summary>
sealed class PendingCollective(CollectiveCall call, IssueCollective issue, int[]? counts, MemoryHandle pin) : CollectiveRequest
{
    readonly ManualResetEventSlim _done = new();
    MemoryHandle _pin = pin;
    DistributedException? _failure;

    public CollectiveCall Call { get; } = call;
    public IssueCollective Issue { get; } = issue;
    /// <summary>All-gatherv: the counts; all-to-allv: the send counts, then the receive counts; otherwise null.</summary>
    public int[]? Counts { get; } = counts;

    /// <summary>Whether the collective has completed (the overlap test watches it while computing).</summary>
    internal bool IsCompleted => _done.IsSet;

    public void Finish(DistributedException? failure)
    {
        _failure = failure;
        _pin.Dispose();
        _done.Set();
    }

    public override void Wait()
    {
        _done.Wait();
        if (_failure != null) throw new DistributedException(_failure.Message, _failure);
    }
}
