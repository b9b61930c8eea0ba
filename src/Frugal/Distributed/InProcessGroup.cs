using System.Runtime.InteropServices;

namespace Frugal.Distributed;

/// <summary>
/// N ranks as N threads of one process, each holding its own <see cref="InProcessGroup"/> of a shared rendezvous:
/// the data-parallel code runs unchanged, without MPI, in tests and simulations (<see cref="Run"/>). Each collective
/// is two barriers: every rank publishes its buffer, then reads the others' (summing in rank order, so all ranks get
/// identical bits), then the next call may overwrite them. Calls are always checked for matching order and sizes.
/// </summary>
public sealed unsafe class InProcessGroup : IProcessGroup
{
    readonly Rendezvous _shared;

    InProcessGroup(Rendezvous shared, int rank) { _shared = shared; Rank = rank; }

    public int Rank { get; }
    public int Size => _shared.Size;
    public string Description => $"in-process, {Size} ranks";
    public TimeSpan Timeout => _shared.Timeout;
    public Traffic Traffic { get; } = new();

    /// <summary>One group per rank, sharing a rendezvous; give each to its own thread.</summary>
    public static InProcessGroup[] Create(int size, TimeSpan? timeout = null)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "in-process group: at least one rank");
        var shared = new Rendezvous(size, timeout ?? TimeSpan.FromSeconds(60));
        return Enumerable.Range(0, size).Select(r => new InProcessGroup(shared, r)).ToArray();
    }

    /// <summary>Runs <paramref name="body"/> on <paramref name="size"/> threads, one rank each, and rethrows the first
    /// rank's failure (by rank order) once all have ended.</summary>
    public static void Run(int size, Action<IProcessGroup> body, TimeSpan? timeout = null)
    {
        var groups = Create(size, timeout);
        var errors = new Exception?[size];
        var threads = groups.Select(g => new Thread(() =>
        {
            try { body(g); }
            catch (Exception e) { errors[g.Rank] = e; g._shared.Fail(g.Rank, e.Message); }
        }, 16 << 20) { Name = $"rank {g.Rank}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        var first = errors.FirstOrDefault(e => e != null);
        if (first != null) throw new AggregateException($"rank {Array.IndexOf(errors, first)}: {first.Message}", errors.Where(e => e != null)!);
    }

    public void Barrier() => Collective("barrier", 0, 0, (_, _) => { });

    public void Broadcast<T>(Span<T> data, int root) where T : unmanaged
    {
        CheckRoot(root);
        long bytes = (long)data.Length * sizeof(T);
        Traffic.Add(Rank == root ? bytes : 0, Traffic.BroadcastWire(bytes, Size, Rank == root));
        fixed (T* p = data)
        {
            var mine = (nint)p;
            int n = data.Length;
            Collective("broadcast", n, root, (slots, _) =>
            {
                if (Rank != root) new Span<T>((void*)slots[root].Data, n).CopyTo(new Span<T>((void*)mine, n));
            }, mine);
        }
    }

    public void AllReduce<T>(Span<T> data, ReduceOp op) where T : unmanaged
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double) && typeof(T) != typeof(int) && typeof(T) != typeof(long))
            throw new NotSupportedException($"all_reduce: {typeof(T).Name} is not reduced (float, double, int or long)");
        long bytes = (long)data.Length * sizeof(T);
        Traffic.Add(bytes, Traffic.AllReduceWire(bytes, Size));
        var result = new T[data.Length];
        fixed (T* p = data)
        {
            int n = data.Length;
            Collective("all_reduce", n, (int)op, (slots, size) =>
            {
                new ReadOnlySpan<T>((void*)slots[0].Data, n).CopyTo(result);
                for (int r = 1; r < size; r++) Combine(result, new ReadOnlySpan<T>((void*)slots[r].Data, n), op);
            }, (nint)p);
        }
        result.CopyTo(data);
    }

    public void AllGather<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged
    {
        if (receive.Length != send.Length * Size)
            throw new ArgumentException($"all_gather: receive holds {receive.Length}, {Size} ranks × {send.Length} needed");
        Span<int> counts = stackalloc int[Size];
        counts.Fill(send.Length);
        Gather(send, receive, counts, "all_gather");
    }

    public void AllGatherV<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts) where T : unmanaged
    {
        if (counts.Length != Size) throw new ArgumentException($"all_gatherv: {counts.Length} counts for {Size} ranks");
        if (counts[Rank] != send.Length) throw new ArgumentException($"all_gatherv: rank {Rank} sends {send.Length}, its count says {counts[Rank]}");
        Gather(send, receive, counts, "all_gatherv");
    }

    void Gather<T>(ReadOnlySpan<T> send, Span<T> receive, ReadOnlySpan<int> counts, string call) where T : unmanaged
    {
        long total = 0;
        foreach (int c in counts) total += c;
        if (receive.Length != total) throw new ArgumentException($"{call}: receive holds {receive.Length}, the counts sum to {total}");
        Traffic.Add((long)send.Length * sizeof(T), (double)(total - send.Length) * sizeof(T));
        var offsets = Offsets(counts);
        fixed (T* s = send) fixed (T* r = receive)
        {
            var into = (nint)r;
            Collective(call, (int)total, 0, (slots, size) =>
            {
                for (int k = 0; k < size; k++)
                    new ReadOnlySpan<T>((void*)slots[k].Data, slots[k].DataCount).CopyTo(new Span<T>((T*)into + offsets[k], slots[k].DataCount));
            }, (nint)s, send.Length);
        }
    }

    public void AllToAll<T>(ReadOnlySpan<T> send, Span<T> receive) where T : unmanaged
    {
        if (send.Length % Size != 0 || receive.Length != send.Length)
            throw new ArgumentException($"all_to_all: send ({send.Length}) and receive ({receive.Length}) must be equal multiples of {Size} ranks");
        var counts = Enumerable.Repeat(send.Length / Size, Size).ToArray();
        AllToAllV(send, counts, receive, counts);
    }

    public void AllToAllV<T>(ReadOnlySpan<T> send, ReadOnlySpan<int> sendCounts, Span<T> receive, ReadOnlySpan<int> receiveCounts)
        where T : unmanaged
    {
        if (sendCounts.Length != Size || receiveCounts.Length != Size)
            throw new ArgumentException($"all_to_allv: {sendCounts.Length} send and {receiveCounts.Length} receive counts for {Size} ranks");
        var sendOffsets = Offsets(sendCounts);
        var receiveOffsets = Offsets(receiveCounts);
        if (sendOffsets[^1] + sendCounts[^1] > send.Length || receiveOffsets[^1] + receiveCounts[^1] > receive.Length)
            throw new ArgumentException("all_to_allv: the counts exceed the buffers");
        long others = 0;
        for (int r = 0; r < Size; r++) if (r != Rank) others += sendCounts[r];
        Traffic.Add((long)send.Length * sizeof(T), (double)others * sizeof(T));
        var myReceiveCounts = receiveCounts.ToArray();
        // Each rank publishes its send buffer and its per-destination offsets and counts.
        var table = new long[2 * Size];
        for (int r = 0; r < Size; r++) { table[2 * r] = sendOffsets[r]; table[2 * r + 1] = sendCounts[r]; }
        fixed (T* s = send) fixed (T* rcv = receive) fixed (long* t = table)
        {
            var into = (nint)rcv;
            Collective("all_to_allv", 0, 0, (slots, size) =>
            {
                for (int k = 0; k < size; k++)
                {
                    var theirs = (long*)slots[k].Extra;
                    long offset = theirs[2 * Rank], count = theirs[2 * Rank + 1];
                    if (count != myReceiveCounts[k])
                        throw new DistributedException($"rank {Rank}: all_to_allv: rank {k} sends {count} elements, this rank expects {myReceiveCounts[k]}");
                    new ReadOnlySpan<T>((T*)slots[k].Data + offset, (int)count).CopyTo(new Span<T>((T*)into + receiveOffsets[k], (int)count));
                }
            }, (nint)s, send.Length, (nint)t);
        }
    }

    public CollectiveRequest StartAllReduce(Memory<float> data, ReduceOp op)
    {
        AllReduce(data.Span, op);
        return CollectiveRequest.Completed;
    }

    public void Dispose() { }

    void CheckRoot(int root)
    {
        if ((uint)root >= (uint)Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"broadcast: root must be a rank of {Size}");
    }

    static int[] Offsets(ReadOnlySpan<int> counts)
    {
        var offsets = new int[counts.Length];
        for (int r = 1; r < counts.Length; r++) offsets[r] = offsets[r - 1] + counts[r - 1];
        return offsets;
    }

    static void Combine<T>(Span<T> into, ReadOnlySpan<T> other, ReduceOp op) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) CombineNumbers(MemoryMarshal.Cast<T, float>(into), MemoryMarshal.Cast<T, float>(other), op);
        else if (typeof(T) == typeof(double)) CombineNumbers(MemoryMarshal.Cast<T, double>(into), MemoryMarshal.Cast<T, double>(other), op);
        else if (typeof(T) == typeof(int)) CombineNumbers(MemoryMarshal.Cast<T, int>(into), MemoryMarshal.Cast<T, int>(other), op);
        else CombineNumbers(MemoryMarshal.Cast<T, long>(into), MemoryMarshal.Cast<T, long>(other), op);
    }

    static void CombineNumbers<T>(Span<T> into, ReadOnlySpan<T> other, ReduceOp op) where T : System.Numerics.INumber<T>
    {
        for (int i = 0; i < into.Length; i++)
            into[i] = op switch { ReduceOp.Sum => into[i] + other[i], ReduceOp.Max => T.Max(into[i], other[i]), _ => T.Min(into[i], other[i]) };
    }

    /// <summary>Publishes this rank's call, checks every rank made the same one, runs <paramref name="read"/> while all
    /// buffers are published, and waits until every rank has read before any may reuse its buffer.</summary>
    void Collective(string call, int count, int arg, Action<Slot[], int> read, nint data = 0, int dataCount = 0, nint extra = 0)
    {
        var s = _shared;
        long seq = ++s.Sequence[Rank];
        s.Slots[Rank] = new Slot(call, seq, count, arg, data, dataCount, extra);
        s.Wait(Rank, call, seq, count);
        for (int r = 0; r < s.Size; r++)
        {
            var o = s.Slots[r];
            if (o.Call != call || o.Count != count || o.Arg != arg)
            {
                var e = new DistributedException($"rank {Rank}: collective #{seq} mismatch: this rank called {Describe(s.Slots[Rank])}, rank {r} called {Describe(o)}; every rank must make the same calls in the same order");
                s.Fail(Rank, e.Message);
                throw e;
            }
        }
        try { read(s.Slots, s.Size); }
        catch (Exception e) { s.Fail(Rank, e.Message); throw; }
        s.Wait(Rank, call, seq, count);
    }

    static string Describe(Slot s) => $"{s.Call} #{s.Sequence} of {s.Count} elements (arg {s.Arg})";

    /// <summary>A rank's published call: <paramref name="Count"/> and <paramref name="Arg"/> must match on every rank;
    /// <paramref name="DataCount"/> is this rank's own part (all-gatherv).</summary>
    readonly record struct Slot(string Call, long Sequence, int Count, int Arg, nint Data, int DataCount, nint Extra);

    sealed class Rendezvous(int size, TimeSpan timeout)
    {
        public readonly int Size = size;
        public readonly TimeSpan Timeout = timeout;
        public readonly Slot[] Slots = new Slot[size];
        public readonly long[] Sequence = new long[size];
        readonly Barrier _barrier = new(size);
        volatile string? _failure;

        public void Fail(int rank, string why) => _failure ??= $"rank {rank} failed: {why}";

        public void Wait(int rank, string call, long seq, int count)
        {
            var deadline = DateTime.UtcNow + Timeout;
            while (true)
            {
                if (_failure != null) throw new DistributedException($"rank {rank}: {call} #{seq} abandoned: {_failure}");
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                {
                    var why = $"rank {rank}: {call} #{seq} ({count} elements) waited {Timeout.TotalSeconds:0.#} s for the other ranks; a rank is stuck or has died";
                    Fail(rank, why);
                    throw new DistributedException(why);
                }
                // A timed-out SignalAndWait withdraws this rank's signal; waiting in slices lets a failure elsewhere be seen.
                if (_barrier.SignalAndWait(TimeSpan.FromMilliseconds(Math.Min(100, left.TotalMilliseconds)))) return;
            }
        }
    }
}
