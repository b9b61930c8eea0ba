using System.Diagnostics;
using Frugal.Distributed;

namespace Frugal.DistributedWorker;

/// <summary>The median time of a 16 MB fp32 all-reduce (blocking and started), printed by rank 0.</summary>
static class Bench
{
    const int Elements = 4 << 20;
    const int Repeats = 21;

    public static void Run(IProcessGroup g)
    {
        var data = new float[Elements];
        data.AsSpan().Fill(1);
        double blocking = Median(g, () => g.AllReduce<float>(data, ReduceOp.Sum));
        double started = Median(g, () => g.StartAllReduce(data, ReduceOp.Sum).Wait());
        if (g.Rank == 0)
            Console.WriteLine($"bench: {g.Description}: 16 MB fp32 all_reduce median {blocking:0.00} ms (started and waited: {started:0.00} ms)");
    }

    static double Median(IProcessGroup g, Action reduce)
    {
        for (int i = 0; i < 3; i++) reduce();
        var times = new double[Repeats];
        for (int i = 0; i < Repeats; i++)
        {
            g.Barrier();
            var clock = Stopwatch.StartNew();
            reduce();
            times[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[Repeats / 2];
    }
}
