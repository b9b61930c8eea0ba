using System.Numerics;
using System.Runtime.InteropServices;
using Frugal.Distributed;

namespace Frugal.DistributedWorker;

/// <summary>Every collective against its definition, for every element type and the sizes 0, 1, 7, 1000 and 16 MB.</summary>
static class Collectives
{
    /// <summary>A 12-byte element: no MPI datatype has its size, so it travels as bytes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    readonly record struct Triple(int A, int B, int C);

    static readonly int[] Sizes = [0, 1, 7, 1000];
    const int Large = 4 << 20;   // 16 MB of fp32

    public static void Run(IProcessGroup g)
    {
        foreach (int m in Sizes)
        {
            Reduce<float>(g, m); Reduce<double>(g, m); Reduce<int>(g, m); Reduce<long>(g, m);
            Move(g, m, (r, i) => (byte)(31 * r + i));
            Move(g, m, (r, i) => (ushort)(1000 * r + i));
            Move(g, m, (r, i) => (Half)(r + i / 8f));
            Move(g, m, (r, i) => r + i / 8f);
            Move(g, m, (r, i) => r + i / 8.0);
            Move(g, m, (r, i) => ((long)r << 40) + i);
            Move(g, m, (r, i) => new Triple(r, i, r ^ i));
        }
        Reduce<float>(g, Large);
        Move(g, Large / g.Size, (r, i) => r + i / 8f);
        Started(g);
        TrafficCounts(g);
        g.Barrier();
        if (g.Rank == 0) Console.WriteLine($"collectives: {g.Description}: ok");
    }

    /// <summary>Rank r holds (r + 1)·x_i with x_i = i mod 5 − 2, so sum, max and min have closed forms.</summary>
    static void Reduce<T>(IProcessGroup g, int m) where T : unmanaged, INumber<T>
    {
        int n = g.Size;
        foreach (var op in new[] { ReduceOp.Sum, ReduceOp.Max, ReduceOp.Min })
        {
            var data = new T[m];
            for (int i = 0; i < m; i++) data[i] = T.CreateChecked((g.Rank + 1) * (i % 5 - 2));
            g.AllReduce<T>(data, op);
            for (int i = 0; i < m; i++)
            {
                int x = i % 5 - 2;
                int expected = op switch
                {
                    ReduceOp.Sum => n * (n + 1) / 2 * x,
                    ReduceOp.Max => x > 0 ? n * x : x,
                    _ => x > 0 ? x : n * x,
                };
                Expect(data[i], T.CreateChecked(expected), g, $"all_reduce<{typeof(T).Name}> {op} of {m}", i);
            }
        }
    }

    /// <summary>The data-moving collectives; element i of rank r's data is make(r, i).</summary>
    static void Move<T>(IProcessGroup g, int m, Func<int, int, T> make) where T : unmanaged
    {
        int n = g.Size, r = g.Rank;
        string type = typeof(T).Name;

        var b = Enumerable.Range(0, m).Select(i => make(r, i)).ToArray();
        g.Broadcast<T>(b, n - 1);
        for (int i = 0; i < m; i++) Expect(b[i], make(n - 1, i), g, $"broadcast<{type}> of {m}", i);

        var all = new T[n * m];
        g.AllGather<T>(Enumerable.Range(0, m).Select(i => make(r, i)).ToArray(), all);
        for (int i = 0; i < all.Length; i++) Expect(all[i], make(i / Math.Max(m, 1), i % Math.Max(m, 1)), g, $"all_gather<{type}> of {m}", i);

        // all-gatherv: rank k contributes m + k elements.
        var counts = Enumerable.Range(0, n).Select(k => m + k).ToArray();
        var v = new T[counts.Sum()];
        g.AllGatherV<T>(Enumerable.Range(0, m + r).Select(i => make(r, i)).ToArray(), v, counts);
        for (int k = 0, at = 0; k < n; at += counts[k], k++)
            for (int i = 0; i < counts[k]; i++) Expect(v[at + i], make(k, i), g, $"all_gatherv<{type}> of {m}", at + i);

        // all-to-all: element j of the block for rank k is make(r, m·k + j).
        var send = Enumerable.Range(0, n * m).Select(i => make(r, i)).ToArray();
        var receive = new T[n * m];
        g.AllToAll<T>(send, receive);
        for (int k = 0; k < n; k++)
            for (int j = 0; j < m; j++) Expect(receive[k * m + j], make(k, r * m + j), g, $"all_to_all<{type}> of {m}", k * m + j);

        // all-to-allv: rank s sends m + (s + k) mod 3 elements to rank k, element j being make(s, 1000·k + j).
        int Count(int from, int to) => m + (from + to) % 3;
        var sendCounts = Enumerable.Range(0, n).Select(k => Count(r, k)).ToArray();
        var receiveCounts = Enumerable.Range(0, n).Select(k => Count(k, r)).ToArray();
        var sendV = Enumerable.Range(0, n).SelectMany(k => Enumerable.Range(0, Count(r, k)).Select(j => make(r, 1000 * k + j))).ToArray();
        var receiveV = new T[receiveCounts.Sum()];
        g.AllToAllV<T>(sendV, sendCounts, receiveV, receiveCounts);
        for (int k = 0, at = 0; k < n; at += receiveCounts[k], k++)
            for (int j = 0; j < receiveCounts[k]; j++) Expect(receiveV[at + j], make(k, 1000 * r + j), g, $"all_to_allv<{type}> of {m}", at + j);
    }

    /// <summary>Three all-reduces in flight at once, a blocking one queued behind them, then the waits in order.</summary>
    static void Started(IProcessGroup g)
    {
        int n = g.Size;
        var buffers = new[] { 1, 1000, Large }.Select(m => Enumerable.Range(0, m).Select(i => (float)(g.Rank + i % 3)).ToArray()).ToArray();
        var requests = buffers.Select(b => g.StartAllReduce(b, ReduceOp.Sum)).ToArray();
        var max = new float[] { g.Rank };
        g.AllReduce<float>(max, ReduceOp.Max);
        Expect(max[0], n - 1, g, "all_reduce max behind started ones", 0);
        foreach (var request in requests) request.Wait();
        foreach (var b in buffers)
            for (int i = 0; i < b.Length; i++) Expect(b[i], n * (n - 1) / 2f + n * (i % 3), g, $"start_all_reduce of {b.Length}", i);
    }

    static void TrafficCounts(IProcessGroup g)
    {
        long payload = g.Traffic.PayloadBytes, wire = g.Traffic.WireBytes;
        g.AllReduce<float>(new float[1000], ReduceOp.Sum);
        Expect(g.Traffic.PayloadBytes - payload, 4000L, g, "traffic payload of a 1000-float all_reduce", 0);
        Expect(g.Traffic.WireBytes - wire, (long)Math.Round(2.0 * (g.Size - 1) / g.Size * 4000), g, "traffic wire bytes of a 1000-float all_reduce", 0);
    }

    static void Expect<T>(T actual, T expected, IProcessGroup g, string what, int index)
    {
        if (!EqualityComparer<T>.Default.Equals(actual, expected))
            throw new InvalidOperationException($"rank {g.Rank}: {what}: element {index} is {actual}, expected {expected}");
    }
}
