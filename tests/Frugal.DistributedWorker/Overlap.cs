using System.Diagnostics;
using Frugal.Distributed;
using Frugal.Distributed.Mpi;

namespace Frugal.DistributedWorker;

/// <summary>
/// Shows that a started all-reduce progresses while the caller computes and makes no MPI call: the request is
/// seen completing between two chunks of local work, before <see cref="CollectiveRequest.Wait"/> is called.
/// </summary>
static class Overlap
{
    const int Elements = 16 << 20;   // 64 MB of fp32

    public static void Run(MpiProcessGroup g)
    {
        var data = new float[Elements];
        data.AsSpan().Fill(g.Rank + 1);
        var alone = Stopwatch.StartNew();
        g.AllReduce<float>(data, ReduceOp.Sum);
        double aloneMs = alone.Elapsed.TotalMilliseconds;
        data.AsSpan().Fill(g.Rank + 1);
        g.Barrier();

        var work = new float[1 << 16];
        work.AsSpan().Fill(1.0001f);
        var clock = Stopwatch.StartNew();
        var request = (PendingCollective)g.StartAllReduce(data, ReduceOp.Sum);
        double startedMs = clock.Elapsed.TotalMilliseconds;
        int chunks = 0;
        float sink = 0;
        while (!request.IsCompleted && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            sink += Compute(work);
            chunks++;
        }
        double completedMs = clock.Elapsed.TotalMilliseconds;
        bool overlapped = request.IsCompleted;
        request.Wait();
        float expected = g.Size * (g.Size + 1) / 2f;
        if (data[0] != expected || data[^1] != expected)
            throw new InvalidOperationException($"rank {g.Rank}: overlap: the sum is {data[0]}, expected {expected}");
        Console.WriteLine($"overlap: rank {g.Rank}: a 64 MB all_reduce took {aloneMs:0} ms alone; started in {startedMs:0.00} ms, " +
                          $"it completed after {chunks} chunks ({completedMs:0} ms) of local compute that made no MPI call (sink {sink:0})");
        if (!overlapped) throw new InvalidOperationException($"rank {g.Rank}: overlap: the all_reduce did not complete during 60 s of compute");
        if (chunks == 0) throw new InvalidOperationException($"rank {g.Rank}: overlap: the all_reduce completed before any compute ran");
    }

    /// <summary>A few hundred microseconds of arithmetic on the caller's thread.</summary>
    static float Compute(float[] work)
    {
        float s = 0;
        for (int pass = 0; pass < 8; pass++)
            for (int i = 0; i < work.Length; i++) s += work[i] * work[i];
        return s;
    }
}
