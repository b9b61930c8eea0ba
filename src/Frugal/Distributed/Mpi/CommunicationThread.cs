using System.Collections.Concurrent;
using System.Diagnostics;
using static Frugal.Distributed.Mpi.MpiNative;

namespace Frugal.Distributed.Mpi;

/// <summary>
/// The one thread that makes every MPI call of the process (MPI_THREAD_FUNNELED: it is the thread that called
/// MPI_Init_thread). Collectives run one at a time in the order they were queued. Each is issued non-blocking and
/// then driven with MPI_Test: Open MPI progresses a collective only inside MPI calls, so this loop is what lets a
/// <see cref="IProcessGroup.StartAllReduce"/> proceed while the caller computes, and it is also the watchdog: a
/// collective still incomplete after the timeout prints one line naming this rank and the call, and calls MPI_Abort,
/// which makes mpirun end every rank.
/// </summary>
sealed unsafe class CommunicationThread
{
    readonly BlockingCollection<PendingCollective> _queue = new();
    readonly Thread _thread;
    readonly TimeSpan _timeout;
    readonly bool _check;
    readonly TaskCompletionSource<Started> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What MPI_Init told this rank.</summary>
    public readonly record struct Started(int Rank, int Size, string Library, int Hosts);

    public CommunicationThread(TimeSpan timeout, bool check)
    {
        _timeout = timeout;
        _check = check;
        _thread = new Thread(Run) { Name = "mpi", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Waits for MPI_Init; rethrows its failure.</summary>
    public Started WaitStarted() => _started.Task.GetAwaiter().GetResult();

    public void Enqueue(PendingCollective collective) => _queue.Add(collective);

    /// <summary>Lets the queued collectives finish, then MPI_Finalize; returns when the thread has ended.</summary>
    public void Stop()
    {
        _queue.CompleteAdding();
        _thread.Join();
    }

    int _rank, _size;

    void Run()
    {
        try { _started.SetResult(Initialize()); }
        catch (Exception e) { _started.SetException(e); return; }
        foreach (var collective in _queue.GetConsumingEnumerable())
        {
            try
            {
                if (_check) Verify(collective);
                Complete(collective.Call, collective.Issue);
                collective.Finish(null);
            }
            catch (DistributedException e) { collective.Finish(e); }
        }
        MPI_Finalize();
    }

    Started Initialize()
    {
        MpiDefaults.Apply();
        int provided, rank, size;
        Check("MPI_Init_thread", MPI_Init_thread(null, null, ThreadFunneled, &provided));
        if (provided < ThreadFunneled)
            throw new DistributedException($"distributed: this Open MPI provides thread level {provided}; Frugal needs MPI_THREAD_FUNNELED (1)");
        Check("MPI_Comm_set_errhandler", MPI_Comm_set_errhandler(CommWorld, ErrorsReturn));
        Check("MPI_Comm_rank", MPI_Comm_rank(CommWorld, &rank));
        Check("MPI_Comm_size", MPI_Comm_size(CommWorld, &size));
        (_rank, _size) = (rank, size);
        return new Started(rank, size, Text(&MPI_Get_library_version), CountHosts());
    }

    /// <summary>All-gathers the processor names (MPI_Get_processor_name, the host name) and counts the distinct ones.</summary>
    int CountHosts()
    {
        const int Width = 256;
        var mine = new byte[Width];
        System.Text.Encoding.UTF8.GetBytes(Text(&MPI_Get_processor_name), mine);
        var all = new byte[Width * _size];
        fixed (byte* m = mine) fixed (byte* a = all)
        {
            nint send = (nint)m, receive = (nint)a;
            Complete(new CollectiveCall(CollectiveKind.AllGather, 0, all.Length, 0, 1),
                r => MPI_Iallgather((void*)send, Width, MpiByte, (void*)receive, Width, MpiByte, CommWorld, r));
        }
        return Enumerable.Range(0, _size).Select(r => Convert.ToHexString(all, r * Width, Width)).Distinct().Count();
    }

    /// <summary>The debug mode: all-gathers every rank's call (and a v-collective's counts) and compares them.</summary>
    void Verify(PendingCollective collective)
    {
        var mine = new long[CollectiveCall.Longs];
        collective.Call.Write(mine);
        var all = new long[CollectiveCall.Longs * _size];
        fixed (long* m = mine) fixed (long* a = all)
        {
            nint send = (nint)m, receive = (nint)a;
            Complete(collective.Call, r => MPI_Iallgather((void*)send, CollectiveCall.Longs, MpiInt64, (void*)receive, CollectiveCall.Longs, MpiInt64, CommWorld, r));
        }
        CollectiveCheck.Compare(collective.Call, _rank, all);
        if (collective.Counts is not { } counts) return;
        // The calls matched, so every rank passes counts of the same length.
        var allCounts = new int[counts.Length * _size];
        fixed (int* m = counts) fixed (int* a = allCounts)
        {
            nint send = (nint)m, receive = (nint)a;
            Complete(collective.Call, r => MPI_Iallgather((void*)send, counts.Length, MpiInt32, (void*)receive, counts.Length, MpiInt32, CommWorld, r));
        }
        CollectiveCheck.CompareCounts(collective.Call, _rank, _size, allCounts);
    }

    /// <summary>Issues the collective and drives it to completion, or ends the job when it outlasts the timeout.</summary>
    void Complete(CollectiveCall call, IssueCollective issue)
    {
        nint request;
        Check(call, issue(&request));
        long start = Stopwatch.GetTimestamp();
        int done = 0;
        for (int polls = 0; ; polls++)
        {
            Check(call, MPI_Test(&request, &done, null));
            if (done != 0) return;
            if (Stopwatch.GetElapsedTime(start) > _timeout) Abandon(call);
            // With more ranks than cores a spinning wait starves the rank it waits for; yield once it is not quick.
            if (polls > 64) Thread.Yield();
        }
    }

    void Abandon(CollectiveCall call)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"frugal: rank {_rank}: {call} waited {_timeout.TotalSeconds:0.#} s for the other ranks; " +
                                "a rank is stuck or has died; ending the job");
        Console.Error.Flush();
        MPI_Abort(CommWorld, 1);
        Environment.Exit(1);
    }

    void Check(CollectiveCall call, int code)
    {
        if (code != Success)
            throw new DistributedException($"rank {_rank}: {call} of {_size} ranks failed: {ErrorString(code)}");
    }

    static void Check(string function, int code)
    {
        if (code != Success) throw new DistributedException($"distributed: {function} failed: {ErrorString(code)}");
    }
}
