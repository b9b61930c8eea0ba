using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>
/// What a <see cref="DataLoader"/> batches: a fixed number of examples, each turned into part of a batch on request.
/// Images (<see cref="ImageDataset"/>), tensors in memory (<see cref="TensorDataset"/>) or anything a user writes.
/// </summary>
public interface IDataset
{
    int Count { get; }

    /// <summary>The examples at <paramref name="indices"/>, in that order, as one batch on <paramref name="device"/>.
    /// Random transforms (augmentation) draw from <paramref name="random"/>, in example order, so a batch is a pure
    /// function of the loader's seed, the epoch and the batch.</summary>
    Batch GetBatch(ReadOnlySpan<int> indices, Device device, Generator random);
}

public static class Dataset
{
    /// <summary>The first <paramref name="n"/> examples (all of them when n ≤ 0 or n ≥ Count).</summary>
    public static IDataset Take(this IDataset data, int n) => n <= 0 || n >= data.Count ? data : new Prefix(data, n);

    sealed class Prefix(IDataset data, int n) : IDataset
    {
        public int Count => n;
        public Batch GetBatch(ReadOnlySpan<int> indices, Device device, Generator random) => data.GetBatch(indices, device, random);
    }
}
