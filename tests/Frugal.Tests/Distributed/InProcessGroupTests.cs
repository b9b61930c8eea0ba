using Frugal.Distributed;

namespace Frugal.Tests.Distributed;

/// <summary>The in-process group's collectives against their definitions, and its failure modes: a mismatched call
/// and a rank that never arrives end every rank with an error naming the call.</summary>
public class InProcessGroupTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    public void Collectives_match_their_definitions(int n)
    {
        InProcessGroup.Run(n, g =>
        {
            int r = g.Rank;
            var sum = new float[] { r, 2 * r + 1, -r };
            g.AllReduce<float>(sum, ReduceOp.Sum);
            float s = n * (n - 1) / 2f;
            Assert.Equal(new[] { s, 2 * s + n, -s }, sum);
            var max = new long[] { r, -r };
            g.AllReduce<long>(max, ReduceOp.Max);
            Assert.Equal(new long[] { n - 1, 0 }, max);

            var b = new int[] { r == n - 1 ? 42 : 0, r };
            g.Broadcast<int>(b, n - 1);
            Assert.Equal(new[] { 42, n - 1 }, b);

            var all = new double[2 * n];
            g.AllGather<double>(new double[] { r, r + 0.5 }, all);
            for (int k = 0; k < n; k++) { Assert.Equal(k, all[2 * k]); Assert.Equal(k + 0.5, all[2 * k + 1]); }

            var counts = Enumerable.Range(1, n).ToArray();
            var v = new byte[counts.Sum()];
            g.AllGatherV<byte>(Enumerable.Repeat((byte)r, r + 1).ToArray(), v, counts);
            Assert.Equal(Enumerable.Range(0, n).SelectMany(k => Enumerable.Repeat((byte)k, k + 1)), v);

            // all-to-all: element k of rank r's send is 10·r + k, destined for rank k.
            var send = Enumerable.Range(0, n).Select(k => (float)(10 * r + k)).ToArray();
            var recv = new float[n];
            g.AllToAll<float>(send, recv);
            Assert.Equal(Enumerable.Range(0, n).Select(k => (float)(10 * k + r)), recv);

            // all-to-allv: rank r sends k+1 copies of r to rank k.
            var sendCounts = Enumerable.Range(0, n).Select(k => k + 1).ToArray();
            var sendV = Enumerable.Range(0, n).SelectMany(k => Enumerable.Repeat(r, k + 1)).ToArray();
            var receiveCounts = Enumerable.Repeat(r + 1, n).ToArray();
            var recvV = new int[n * (r + 1)];
            g.AllToAllV<int>(sendV, sendCounts, recvV, receiveCounts);
            Assert.Equal(Enumerable.Range(0, n).SelectMany(k => Enumerable.Repeat(k, r + 1)), recvV);

            var data = new float[] { r, 1 };
            g.StartAllReduce(data, ReduceOp.Sum).Wait();
            Assert.Equal(new[] { s, n }, data);
            g.Barrier();
        });
    }

    [Fact]
    public void Sums_are_bit_identical_on_every_rank()
    {
        const int n = 4;
        var results = new float[n][];
        InProcessGroup.Run(n, g =>
        {
            var rng = new Random(g.Rank);
            var x = Enumerable.Range(0, 1000).Select(_ => (float)rng.NextDouble() * 1e-3f + 1f).ToArray();
            g.AllReduce<float>(x, ReduceOp.Sum);
            results[g.Rank] = x;
        });
        for (int r = 1; r < n; r++) Assert.Equal(results[0], results[r]);
    }

    [Fact]
    public void A_mismatched_call_is_named_on_every_rank()
    {
        var e = Assert.Throws<AggregateException>(() => InProcessGroup.Run(2, g =>
        {
            if (g.Rank == 0) g.AllReduce<float>(new float[3], ReduceOp.Sum);
            else g.AllReduce<float>(new float[4], ReduceOp.Sum);
        }));
        Assert.Equal(2, e.InnerExceptions.Count);
        Assert.All(e.InnerExceptions, x => Assert.Contains("mismatch", x.Message));
        Assert.Contains("all_reduce #1 of 3 elements", e.InnerExceptions[0].Message);
    }

    [Fact]
    public void A_rank_that_never_arrives_ends_the_others_within_the_timeout()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<AggregateException>(() => InProcessGroup.Run(3, g =>
        {
            if (g.Rank == 2) return; // leaves without joining the collective
            g.AllReduce<float>(new float[8], ReduceOp.Sum);
        }, timeout: TimeSpan.FromSeconds(1)));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"took {sw.Elapsed}");
        Assert.Contains("all_reduce #1", e.InnerExceptions[0].Message);
        Assert.Contains("waited 1 s", e.Message + string.Join("|", e.InnerExceptions.Select(x => x.Message)));
    }

    [Fact]
    public void Traffic_counts_ring_bytes()
    {
        InProcessGroup.Run(4, g =>
        {
            g.AllReduce<float>(new float[1000], ReduceOp.Sum);
            Assert.Equal(4000, g.Traffic.PayloadBytes);
            Assert.Equal(6000, g.Traffic.WireBytes); // 2·3/4·4000
        });
    }
}
