using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Frugal.Data;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// The pipelined schedule of <see cref="PartitionTraining"/> (METHODS.md §4.4): one thread per partition and a bounded
/// FIFO queue between neighbours carrying (detached activation, labels), so partition p trains on batch t while p + 1
/// trains on batch t − 1 and nobody waits for a backward pass downstream.
/// <para>Every partition sees the batches in the loader's order and its own weights only, so each computes exactly
/// what it computes in the sequential schedule: the two agree bit for bit (unless a layer draws from the shared
/// <see cref="Tensors.Generator.Default"/>, e.g. a Dropout without its own generator, whose draws then interleave
/// by timing). Each thread opens its own device step scope (the CPU buffer pool and GradMode are per thread).</para>
/// <para>A failure on any thread cancels every queue, the others stop at their next hand-off, and the first failure
/// (in partition order) is rethrown on the caller's thread; a normal end drains: each thread finishes its queue's
/// batches and closes the next queue.</para>
/// </summary>
static class PartitionPipeline
{
    /// <summary>Runs <paramref name="step"/>(p, batch) on thread p for every batch, in order; it returns the batch for
    /// partition p + 1. <paramref name="done"/> is called on the last partition's thread after each batch.
    /// Returns the most batches in flight at once (started by partition 1, not yet finished by partition K).</summary>
    public static int Run(int partitions, int queueDepth, IEnumerable<Batch> batches, Func<int, Batch, Batch> step, Action done)
    {
        using var cancel = new CancellationTokenSource();
        var queues = Enumerable.Range(0, partitions - 1).Select(_ => new BlockingCollection<Batch>(queueDepth)).ToArray();
        var failures = new Exception?[partitions];
        long started = 0, finished = 0;
        int maxInFlight = 0;
        var threads = new Thread[partitions];
        for (int p = 0; p < partitions; p++)
        {
            int me = p;
            threads[p] = new Thread(() =>
            {
                try
                {
                    var input = me == 0 ? batches : queues[me - 1].GetConsumingEnumerable(cancel.Token);
                    foreach (var batch in input)
                    {
                        cancel.Token.ThrowIfCancellationRequested();
                        if (me == 0) maxInFlight = Math.Max(maxInFlight, (int)(Interlocked.Increment(ref started) - Interlocked.Read(ref finished)));
                        var next = step(me, batch);
                        if (me < partitions - 1) queues[me].Add(next, cancel.Token);
                        else
                        {
                            Interlocked.Increment(ref finished);
                            done();
                        }
                    }
                    if (me < partitions - 1) queues[me].CompleteAdding();
                }
                catch (OperationCanceledException) when (cancel.IsCancellationRequested) { }
                catch (Exception e)
                {
                    failures[me] = e;
                    cancel.Cancel();
                }
            }) { IsBackground = true, Name = $"partition {p + 1}" };
        }
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        foreach (var q in queues) q.Dispose();
        if (failures.FirstOrDefault(f => f != null) is { } failure) ExceptionDispatchInfo.Throw(failure);
        return maxInFlight;
    }
}
