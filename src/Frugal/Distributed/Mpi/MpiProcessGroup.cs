using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using static Frugal.Distributed.Mpi.MpiNative;

namespace Frugal.Distributed.Mpi;

/// <summary>
/// The ranks of an <c>mpirun</c> job (MPI_COMM_WORLD of Open MPI 4.x, <c>libmpi.so.40</c> bound at run time). Every
/// MPI call is made by one <see cref="CommunicationThread"/>: a public call queues its collective and waits for it,
/// <see cref="StartAllReduce"/> queues and returns, and the thread progresses it while the caller computes. A
/// collective that waits longer than <see cref="Timeout"/> ends the whole job (MPI_Abort) with one line naming this
/// rank and the call; an MPI error comes back as a <see cref="DistributedException"/> naming the rank, the call, its
/// sequence number and size. A rank that dies is mpirun's to notice: it ends the job at once, printing "mpirun
/// noticed that process rank 1 with PID … on node … exited on signal 9 (Killed)." The debug mode
/// (FRUGAL_MPI_CHECK=1) compares every rank's call before each collective. MPI is initialised once per process, so
/// there is one group per process; it finalises on Dispose or at exit.
/// </summary>
public sealed unsafe partial class MpiProcessGroup : IProcessGroup
{
    /// <summary>The collective timeout when neither the constructor nor FRUGAL_MPI_TIMEOUT gives one.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    static int _created;

    readonly CommunicationThread _thread;
    readonly object _order = new();
    long _sequence;
    int _disposed;
    volatile bool _terminating;
    readonly PosixSignalRegistration _sigterm;

    /// <param name="timeout">How long a collective may wait for the other ranks; default FRUGAL_MPI_TIMEOUT (seconds)
    /// or <see cref="DefaultTimeout"/>.</param>
    /// <param name="check">Compare every rank's call before each collective (also FRUGAL_MPI_CHECK=1): one extra
    /// small all-gather per collective, so a mismatched order or size fails on every rank with both calls named.</param>
    public MpiProcessGroup(TimeSpan? timeout = null, bool check = false)
    {
        Timeout = timeout ?? TimeoutFrom(Environment.GetEnvironmentVariable("FRUGAL_MPI_TIMEOUT"));
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), Timeout, "distributed: the collective timeout must be positive");
        Checked = check || Environment.GetEnvironmentVariable("FRUGAL_MPI_CHECK") == "1";
        _ = MpiLibrary.Handle;   // where Open MPI is missing, the install hint before anything else
        if (Interlocked.Exchange(ref _created, 1) != 0)
            throw new DistributedException("distributed: MPI is initialised once per process; share the one MpiProcessGroup (ProcessGroups.FromEnvironment)");
        _thread = new CommunicationThread(Timeout, Checked);
        var started = _thread.WaitStarted();
        Rank = started.Rank;
        Size = started.Size;
        Description = $"{LibraryName(started.Library)}, {Size} rank{(Size == 1 ? "" : "s")} on {started.Hosts} host{(started.Hosts == 1 ? "" : "s")}";
        // mpirun ends the other ranks with SIGTERM when one fails: then there is nobody left to finalise with.
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => _terminating = true);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    public int Rank { get; }
    public int Size { get; }
    /// <summary>E.g. "Open MPI 4.1.4, 4 ranks on 1 host".</summary>
    public string Description { get; }
    public TimeSpan Timeout { get; }
    /// <summary>Whether every collective is first compared across ranks (the debug mode).</summary>
    public bool Checked { get; }
    public Traffic Traffic { get; } = new();

    /// <summary>The timeout FRUGAL_MPI_TIMEOUT gives (seconds), or <see cref="DefaultTimeout"/> when it is unset.</summary>
    public static TimeSpan TimeoutFrom(string? seconds)
    {
        if (string.IsNullOrWhiteSpace(seconds)) return DefaultTimeout;
        if (!double.TryParse(seconds, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) || !(s > 0) || s > 1e6)
            throw new DistributedException($"distributed: FRUGAL_MPI_TIMEOUT is '{seconds}'; give the collective timeout in seconds, e.g. 30");
        return TimeSpan.FromSeconds(s);
    }

    /// <summary>"Open MPI v4.1.4, package: …" → "Open MPI 4.1.4".</summary>
    static string LibraryName(string version) => VersionPrefix().Replace(version.Split(',')[0].Trim(), "");

    [GeneratedRegex(@"(?<= )v(?=\d)")]
    private static partial Regex VersionPrefix();

    public void Barrier() => Run(CollectiveKind.Barrier, 0, 0, 0, r => MPI_Ibarrier(CommWorld, r));

    public void Broadcast<T>(Span<T> data, int root) where T : unmanaged
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"broadcast: root must be a rank of {Size}");
        long bytes = (long)data.Length * sizeof(T);
        Traffic.Add(Rank == root ? bytes : 0, Traffic.BroadcastWire(bytes, Size, Rank == root));
        var (type, scale) = Moving<T>();
        int count = Scaled(data.Length, scale, "broadcast");
        fixed (T* p = data)
        {
            nint buffer = (nint)p;
            Run(CollectiveKind.Broadcast, data.Length, root, sizeof(T), r => MPI_Ibcast((void*)buffer, count, type, root, CommWorld, r));
        }
    }

    public void AllReduce<T>(Span<T> data, ReduceOp op) where T : unmanaged
    {
        var type = ReduceType<T>() ?? throw new NotSupportedException($"all_reduce: {typeof(T).Name} is not reduced (float, double, int or long)");
        long bytes = (long)data.Length * sizeof(T);
        Traffic.Add(bytes, Traffic.AllReduceWire(bytes, Size));
        fixed (T* p = data)
        {
            nint buffer = (nint)p, mpiOp = Op(op);
            int count = data.Length;
            Run(CollectiveKind.AllReduce, count, (int)op, sizeof(T), r => MPI_Iallreduce((void*)InPlace, (void*)buffer, count, type, mpiOp, CommWorld, r));
        }
    }

    public CollectiveRequest StartAllReduce(Memory<float> data, ReduceOp op)
    {
        long bytes = (long)data.Length * sizeof(float);
        Traffic.Add(bytes, Traffic.AllReduceWire(bytes, Size));
        var pin = data.Pin();
        nint buffer = (nint)pin.Pointer, mpiOp = Op(op);
        int count = data.Length;
        return Enqueue(CollectiveKind.AllReduce, count, (int)op, sizeof(float),
            r => MPI_Iallreduce((void*)InPlace, (void*)buffer, count, MpiFloat, mpiOp, CommWorld, r), null, pin);
    }

    public void AllGather<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged
    {
        if (receive.Length != (long)send.Length * Size)
            throw new ArgumentException($"all_gather: receive holds {receive.Length}, {Size} ranks × {send.Length} needed");
        Traffic.Add((long)send.Length * sizeof(T), (double)(receive.Length - send.Length) * sizeof(T));
        var (type, scale) = Moving<T>();
        int count = Scaled(send.Length, scale, "all_gather");
        fixed (T* s = send) fixed (T* g = receive)
        {
            nint from = (nint)s, into = (nint)g;
            Run(CollectiveKind.AllGather, receive.Length, 0, sizeof(T),
                r => MPI_Iallgather((void*)from, count, type, (void*)into, count, type, CommWorld, r));
        }
    }

    public void AllGatherV<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts) where T : unmanaged
    {
        if (counts.Length != Size) throw new ArgumentException($"all_gatherv: {counts.Length} counts for {Size} ranks");
        if (counts[Rank] != send.Length) throw new ArgumentException($"all_gatherv: rank {Rank} sends {send.Length}, its count says {counts[Rank]}");
        long total = 0;
        foreach (int c in counts) total += c;
        if (receive.Length != total) throw new ArgumentException($"all_gatherv: receive holds {receive.Length}, the counts sum to {total}");
        Traffic.Add((long)send.Length * sizeof(T), (double)(total - send.Length) * sizeof(T));
        var (type, scale) = Moving<T>();
        var (scaledCounts, offsets) = Layout(counts, scale, "all_gatherv");
        fixed (T* s = send) fixed (T* g = receive)
        {
            nint from = (nint)s, into = (nint)g;
            int count = scaledCounts[Rank];
            Run(CollectiveKind.AllGatherV, total, 0, sizeof(T), r =>
            {
                fixed (int* c = scaledCounts) fixed (int* o = offsets)
                    return MPI_Iallgatherv((void*)from, count, type, (void*)into, c, o, type, CommWorld, r);
            }, counts.ToArray());
        }
    }

    public void AllToAll<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged
    {
        if (send.Length % Size != 0 || receive.Length != send.Length)
            throw new ArgumentException($"all_to_all: send ({send.Length}) and receive ({receive.Length}) must be equal multiples of {Size} ranks");
        int block = send.Length / Size;
        Traffic.Add((long)send.Length * sizeof(T), (double)(send.Length - block) * sizeof(T));
        var (type, scale) = Moving<T>();
        int count = Scaled(block, scale, "all_to_all");
        fixed (T* s = send) fixed (T* g = receive)
        {
            nint from = (nint)s, into = (nint)g;
            Run(CollectiveKind.AllToAll, send.Length, 0, sizeof(T),
                r => MPI_Ialltoall((void*)from, count, type, (void*)into, count, type, CommWorld, r));
        }
    }

    public void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged
    {
        if (sendCounts.Length != Size || receiveCounts.Length != Size)
            throw new ArgumentException($"all_to_allv: {sendCounts.Length} send and {receiveCounts.Length} receive counts for {Size} ranks");
        var (type, scale) = Moving<T>();
        var (scaledSend, sendOffsets) = Layout(sendCounts, scale, "all_to_allv");
        var (scaledReceive, receiveOffsets) = Layout(receiveCounts, scale, "all_to_allv");
        if ((long)sendOffsets[^1] + scaledSend[^1] > (long)send.Length * scale || (long)receiveOffsets[^1] + scaledReceive[^1] > (long)receive.Length * scale)
            throw new ArgumentException("all_to_allv: the counts exceed the buffers");
        long others = 0;
        for (int r = 0; r < Size; r++) if (r != Rank) others += sendCounts[r];
        Traffic.Add((long)send.Length * sizeof(T), (double)others * sizeof(T));
        fixed (T* s = send) fixed (T* g = receive)
        {
            nint from = (nint)s, into = (nint)g;
            Run(CollectiveKind.AllToAllV, 0, 0, sizeof(T), r =>
            {
                fixed (int* sc = scaledSend) fixed (int* so = sendOffsets) fixed (int* rc = scaledReceive) fixed (int* ro = receiveOffsets)
                    return MPI_Ialltoallv((void*)from, sc, so, type, (void*)into, rc, ro, type, CommWorld, r);
            }, [.. sendCounts, .. receiveCounts]);
        }
    }

    /// <summary>
    /// Ends every rank of the job now with exit code <paramref name="code"/> (MPI_Abort): a rank that failed outside a
    /// collective must not leave the others waiting in their next one until the timeout. Called from the failing
    /// thread, not the communication thread, which may be busy; Open MPI's abort only signals mpirun and exits.
    /// </summary>
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        MPI_Abort(CommWorld, code);
        Environment.Exit(code);
    }

    /// <summary>
    /// Waits for the queued collectives, meets the other ranks in a last barrier (so a rank that never arrives ends
    /// the job after <see cref="Timeout"/> instead of hanging MPI_Finalize) and finalises MPI. Runs at process exit
    /// if not called; skipped when mpirun is tearing the job down (SIGTERM).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _sigterm.Dispose();
        if (_terminating) return;
        Enqueue(CollectiveKind.Finalize, 0, 0, 0, r => MPI_Ibarrier(CommWorld, r), null, default);
        _thread.Stop();
    }

    void Run(CollectiveKind kind, long count, int argument, int elementSize, IssueCollective issue, int[]? counts = null) =>
        Enqueue(kind, count, argument, elementSize, issue, counts, default).Wait();

    PendingCollective Enqueue(CollectiveKind kind, long count, int argument, int elementSize, IssueCollective issue, int[]? counts, MemoryHandle pin)
    {
        lock (_order)
        {
            if (_disposed != 0 && kind != CollectiveKind.Finalize)
            {
                pin.Dispose();
                throw new ObjectDisposedException(nameof(MpiProcessGroup), "distributed: the MPI process group was disposed (MPI is finalised)");
            }
            var pending = new PendingCollective(new CollectiveCall(kind, ++_sequence, count, argument, elementSize), issue, counts, pin);
            _thread.Enqueue(pending);
            return pending;
        }
    }

    /// <summary>The datatype that moves <typeparamref name="T"/>, and how many of it make one element (1, or the
    /// element's size for types that travel as bytes).</summary>
    static (nint Type, int Scale) Moving<T>() where T : unmanaged => CopyType<T>() is { } type ? (type, 1) : (MpiByte, sizeof(T));

    static int Scaled(long count, int scale, string call)
    {
        long scaled = count * scale;
        return scaled <= int.MaxValue ? (int)scaled
            : throw new ArgumentException($"{call}: {count} elements of {scale} bytes exceed MPI's count limit ({int.MaxValue})");
    }

    /// <summary>The scaled counts and their displacements (each the sum of the counts before it), pinned so they stay
    /// where MPI was told while a non-blocking collective runs.</summary>
    static (int[] Counts, int[] Offsets) Layout(ReadOnlySpan<int> counts, int scale, string call)
    {
        var scaled = GC.AllocateArray<int>(counts.Length, pinned: true);
        var offsets = GC.AllocateArray<int>(counts.Length, pinned: true);
        long offset = 0;
        for (int r = 0; r < counts.Length; r++)
        {
            if (counts[r] < 0) throw new ArgumentException($"{call}: count {counts[r]} for rank {r} is negative");
            scaled[r] = Scaled(counts[r], scale, call);
            offsets[r] = Scaled(offset, 1, call);
            offset += scaled[r];
        }
        return (scaled, offsets);
    }
}
