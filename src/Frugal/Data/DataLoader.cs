using System.Threading.Channels;
using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>
/// Batches an <see cref="ImageDataset"/>: normalises to (x/255 − mean)/std, optionally augments, and
/// shuffles with a generator seeded by (seed, epoch), so epoch e has the same order in every run and a
/// resumed run needs no saved loader state. The next batches are prepared on a background task while
/// the current one trains (bounded to <see cref="Prefetch"/> batches).
/// </summary>
public sealed class DataLoader(ImageDataset data, int batchSize, bool shuffle, ulong seed = 0,
    float mean = FashionMnist.Mean, float std = FashionMnist.Std, Augmentation? augmentation = null,
    bool dropLast = false, Device? device = null)
{
    public ImageDataset Data { get; } = data;
    public int BatchSize { get; } = batchSize > 0 ? batchSize : throw new ArgumentException($"data loader: batch size must be positive, got {batchSize}");
    public int Prefetch { get; init; } = 2;
    readonly Augmentation _aug = augmentation ?? Augmentation.None;

    /// <summary>Batches per epoch.</summary>
    public int Count => dropLast ? Data.Count / BatchSize : (Data.Count + BatchSize - 1) / BatchSize;

    /// <summary>The example order of an epoch (identity without shuffling).</summary>
    public int[] Order(int epoch)
    {
        if (!shuffle) return Enumerable.Range(0, Data.Count).ToArray();
        return new Generator(seed * 1_000_003UL + (ulong)epoch).Permutation(Data.Count);
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
                    int start = b * BatchSize, n = Math.Min(BatchSize, Data.Count - start);
                    var batch = Make(order.AsSpan(start, n), augRng);
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

    Batch Make(ReadOnlySpan<int> indices, Generator augRng)
    {
        int n = indices.Length, c = Data.Channels, h = Data.Height, w = Data.Width, size = c * h * w;
        var x = new float[n * size];
        var y = new int[n];
        float scale = 1f / (255f * std), shift = -mean / std;
        var px = Data.Pixels;
        for (int i = 0; i < n; i++)
        {
            int src = indices[i] * size;
            y[i] = Data.Labels[indices[i]];
            var dst = x.AsSpan(i * size, size);
            if (!_aug.Enabled)
            {
                for (int j = 0; j < size; j++) dst[j] = px[src + j] * scale + shift;
                continue;
            }
            // Random crop of a zero-padded image: output pixel (r, q) reads input (r + dy − pad, q + dx − pad);
            // padding pixels are 0 before normalisation, as torchvision's RandomCrop(padding) does.
            int pad = _aug.CropPadding;
            int dy = pad > 0 ? augRng.NextInt(2 * pad + 1) : pad, dx = pad > 0 ? augRng.NextInt(2 * pad + 1) : pad;
            bool flip = _aug.HorizontalFlip && augRng.NextDouble() < 0.5;
            for (int ch = 0; ch < c; ch++)
                for (int r = 0; r < h; r++)
                    for (int q = 0; q < w; q++)
                    {
                        int sr = r + dy - pad, sq = (flip ? w - 1 - q : q) + dx - pad;
                        byte v = sr >= 0 && sr < h && sq >= 0 && sq < w ? px[src + (ch * h + sr) * w + sq] : (byte)0;
                        dst[(ch * h + r) * w + q] = v * scale + shift;
                    }
        }
        return new Batch(Tensor.FromArray(x, new Shape(n, c, h, w), device), y);
    }
}
