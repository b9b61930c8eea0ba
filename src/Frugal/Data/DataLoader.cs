using System.Threading.Channels;
using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>
/// Batches an <see cref="IDataset"/> (PyTorch's DataLoader): shuffles with a generator seeded by (seed, epoch), so
/// epoch e has the same order in every run and a resumed run needs no saved loader state; random transforms draw from
/// a second generator of (seed, epoch). The next batches are prepared on a background task while the current one
/// trains (bounded to <see cref="Prefetch"/> batches).
/// </summary>
public sealed class DataLoader(IDataset data, int batchSize, bool shuffle, ulong seed = 0, bool dropLast = false, Device? device = null)
{
    public IDataset Data { get; } = data;
    public int BatchSize { get; } = batchSize > 0 ? batchSize : throw new ArgumentException($"data loader: batch size must be positive, got {batchSize}");
    public int Prefetch { get; init; } = 2;
    /// <summary>Where batches are put (the CPU unless given).</summary>
    public Device Device { get; } = device ?? Device.Cpu;

    /// <summary>
    /// This loader's part of a data-parallel job of <c>Count</c> ranks: every rank cuts the same (seed, epoch) order
    /// into global batches of Count × <see cref="BatchSize"/> examples and takes slice <c>Rank</c> of each, so the
    /// ranks' batches together are exactly one process's batches of the global size. With dropLast the ranks' batch
    /// counts are equal (training); otherwise the last global batch is split as evenly as it goes (evaluation).
    /// </summary>
    public (int Rank, int Count) Shard
    {
        get => _shard;
        init => _shard = value.Count >= 1 && value.Rank >= 0 && value.Rank < value.Count ? value
            : throw new ArgumentException($"data loader: shard {value.Rank} of {value.Count} does not exist");
    }
    readonly (int Rank, int Count) _shard = (0, 1);

    /// <summary>A loader of <paramref name="other"/> with this one's batch size, order, seed, device and shard: the same
    /// batches of other examples (layer-wise training feeds a stage its cached inputs this way).</summary>
    public DataLoader Over(IDataset other) =>
        new(other, BatchSize, shuffle, seed, dropLast, Device) { Prefetch = Prefetch, Shard = Shard };

    int GlobalBatch => BatchSize * _shard.Count;

    /// <summary>Batches per epoch (this shard's).</summary>
    public int Count => dropLast ? Data.Count / GlobalBatch : (Data.Count + GlobalBatch - 1) / GlobalBatch;

    /// <summary>The example order of an epoch (identity without shuffling).</summary>
    public int[] Order(int epoch)
    {
        if (!shuffle) return Enumerable.Range(0, Data.Count).ToArray();
        return new Generator(seed * 1_000_003UL + (ulong)epoch).Permutation(Data.Count);
    }

    /// <summary>Where this shard's part of global batch <paramref name="b"/> lies in the epoch's order.</summary>
    (int Start, int Count) Slice(int b)
    {
        int start = b * GlobalBatch, global = Math.Min(GlobalBatch, Data.Count - start);
        int per = (global + _shard.Count - 1) / _shard.Count;
        int from = Math.Min(global, _shard.Rank * per), to = Math.Min(global, from + per);
        return (start + from, to - from);
    }

    /// <summary>The batches of one epoch, starting at batch <paramref name="skip"/> (for resuming mid-epoch).</summary>
    public IEnumerable<Batch> Epoch(int epoch, int skip = 0)
    {
        var order = Order(epoch);
        var augRng = new Generator(seed * 7_919UL + (ulong)epoch + 0x5EEDUL);
        // Augmentation draws happen in batch order on the producer, so they do not depend on timing.
        var channel = Channel.CreateBounded<Batch>(new BoundedChannelOptions(Math.Max(1, Prefetch)) { SingleReader = true, SingleWriter = true });
        using var cts = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            try
            {
                for (int b = 0; b < Count; b++)
                {
                    var (start, n) = Slice(b);
                    if (n == 0) continue;
                    var batch = Data.GetBatch(order.AsSpan(start, n), Device, augRng);
                    if (b < skip) continue;
                    await channel.Writer.WriteAsync(batch, cts.Token);
                }
                channel.Writer.Complete();
            }
            catch (Exception e) { channel.Writer.TryComplete(e); }
        });
        try
        {
            while (true)
            {
                Batch? next;
                try
                {
                    if (!channel.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
                    if (!channel.Reader.TryRead(out next)) continue;
                }
                catch (ChannelClosedException e) when (e.InnerException != null) { throw e.InnerException; }
                yield return next;
            }
        }
        finally
        {
            cts.Cancel();
            try { producer.Wait(); } catch (AggregateException) { }
        }
    }
}
