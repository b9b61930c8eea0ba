using System.Runtime.CompilerServices;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Reuses large float arrays on the thread that trains. A training step allocates the same sizes every
/// step (activations, gradients: 13 MB each for the CNN), and fresh large-object-heap arrays cost page
/// faults, zeroing and a gen-2 collection every few steps: measured, that was a third of a CNN step.
/// An array is reused only after the storage that owned it has been collected (a weak reference tells),
/// so no live tensor can see its memory change. Only allocations on a thread inside a step scope
/// (<see cref="BeginStep"/>, what <c>device.BeginStep()</c> opens) or <see cref="Enable"/> are pooled, and only that
/// thread takes from its pool: backend kernels never allocate tensors while they hold a raw array, so a reuse can
/// never overlap a kernel of the same thread.
/// </summary>
public sealed class BufferPool
{
    /// <summary>Arrays shorter than this are left to the GC (small-object heap, cheap).</summary>
    public const int MinLength = 16 * 1024;

    /// <summary>How many times longer than a request a reused array may be (<see cref="FindFree(int)"/>).</summary>
    public const long MaxOversize = 2;

    [ThreadStatic] static BufferPool? _current;
    // The pool the step scopes of this thread share. Held strongly between steps: a weakly held pool is lost to any
    // gen-2 collection there, and the loader's large batch arrays set those off while the trainer waits for a batch.
    [ThreadStatic] static BufferPool? _stepPool;

    // Pooled arrays by their length, and those lengths in ascending order.
    readonly Dictionary<int, List<(WeakReference<CpuStorage> Owner, float[] Array)>> _byLength = [];
    readonly List<int> _lengths = [];
    long _freshBytes;

    /// <summary>Fresh bytes allocated before a collection is forced to find dead owners. Small, because
    /// with large arrays pooled the GC otherwise hardly runs, and owners that die unnoticed cannot be reused.</summary>
    public long CollectEveryBytes { get; init; } = 128L << 20;

    /// <summary>Pools large allocations made on this thread until the returned scope is disposed.</summary>
    public static IDisposable Enable()
    {
        var previous = _current;
        _current = new BufferPool();
        return new Scope(previous);
    }

    sealed class Scope(BufferPool? previous) : IDisposable
    {
        public void Dispose() => _current = previous;
    }

    /// <summary>Pools this thread's large allocations until the scope ends, then lets the next step reuse every
    /// buffer this step dropped (<see cref="Recycle"/>). Inside another scope it does nothing: the outer one recycles.
    /// The thread keeps the buffers of its last step for its next one.</summary>
    public static IDisposable BeginStep()
    {
        if (_current != null) return NestedStep;
        _current = _stepPool ??= new BufferPool();
        return new Step();
    }

    static readonly IDisposable NestedStep = new Nested();

    sealed class Nested : IDisposable
    {
        public void Dispose() { }
    }

    sealed class Step : IDisposable
    {
        bool _done;

        public void Dispose()
        {
            if (_done) return;
            _done = true;
            Recycle();
            _current = null;
        }
    }

    /// <summary>
    /// Call at a step boundary, when the finished step's graph is garbage: a gen-1 collection (about a
    /// tenth of a millisecond here) lets the next step reuse all of that step's buffers. No-op when pooling is off.
    /// </summary>
    public static void Recycle()
    {
        if (_current == null) return;
        GC.Collect(1, GCCollectionMode.Forced, blocking: true);
        _current._freshBytes = 0;
    }

    /// <summary>Drops this thread's pooled arrays whose owners are dead, so the GC can give them back: the pool keeps
    /// every size it has seen, and a phase that allocates other sizes would add its buffers to the last one's.</summary>
    public static void EmptyCache()
    {
        if (_stepPool == null) return;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        foreach (var (length, list) in _stepPool._byLength.ToList())
        {
            list.RemoveAll(e => !e.Owner.TryGetTarget(out _));
            if (list.Count > 0) continue;
            _stepPool._byLength.Remove(length);
            _stepPool._lengths.Remove(length);
        }
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    /// <summary>Fill every uninitialized allocation with NaN, so an op that reads memory it did not write shows
    /// up as NaN instead of passing by luck on fresh (zero) pages. The test suite turns this on.</summary>
    public static bool PoisonUninitialized { get; set; }

    /// <summary>A storage of <paramref name="length"/> floats; zero-filled when <paramref name="zero"/>.</summary>
    internal static CpuStorage Allocate(int length, bool zero)
    {
        var pool = _current;
        var storage = pool == null || length < MinLength
            ? new CpuStorage(zero ? new float[length] : GC.AllocateUninitializedArray<float>(length), length)
            : pool.Take(length, zero);
        if (!zero && PoisonUninitialized) storage.Data.AsSpan(0, length).Fill(float.NaN);
        return storage;
    }

    CpuStorage Take(int length, bool zero)
    {
        var array = FindFree(length);
        if (array == null && _freshBytes > CollectEveryBytes)
        {
            // Dead tensors are only noticed by a collection. A full one is cheap here: the large arrays hold
            // no references, so marking is over the small objects (tensors, graph nodes) only.
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            _freshBytes = 0;
            array = FindFree(length);
        }
        if (array == null)
        {
            array = GC.AllocateUninitializedArray<float>(length);
            _freshBytes += 4L * length;
        }
        if (zero) Array.Clear(array, 0, length);
        var s = new CpuStorage(array, length);
        ListFor(array.Length).Add((new WeakReference<CpuStorage>(s), array));
        return s;
    }

    /// <summary>
    /// A free array of exactly <paramref name="length"/> floats, else the shortest free one of up to
    /// <see cref="MaxOversize"/> times that. Steps repeat their sizes, so exact matches serve the steady state; the
    /// longer ones let what one part of a step dropped serve a later part with smaller tensors (the next layer, the
    /// next partition of partition-wise training) instead of growing the pool by the sum of both. The bound keeps a
    /// small request from holding a large array.
    /// </summary>
    float[]? FindFree(int length)
    {
        if (_byLength.TryGetValue(length, out var exact) && FindFree(exact) is { } same) return same;
        int i = _lengths.BinarySearch(length);
        for (i = i < 0 ? ~i : i + 1; i < _lengths.Count && _lengths[i] <= MaxOversize * length; i++)
            if (FindFree(_byLength[_lengths[i]]) is { } longer) return longer;
        return null;
    }

    List<(WeakReference<CpuStorage> Owner, float[] Array)> ListFor(int arrayLength)
    {
        if (_byLength.TryGetValue(arrayLength, out var list)) return list;
        _byLength[arrayLength] = list = [];
        int i = _lengths.BinarySearch(arrayLength);
        _lengths.Insert(~i, arrayLength);
        return list;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float[]? FindFree(List<(WeakReference<CpuStorage> Owner, float[] Array)> list)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i].Owner.TryGetTarget(out _)) continue;
            var a = list[i].Array;
            list[i] = list[^1];
            list.RemoveAt(list.Count - 1);
            return a;
        }
        return null;
    }
}
