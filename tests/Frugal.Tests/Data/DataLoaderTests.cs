using Frugal.Data;
using Frugal.Tests.Training;

namespace Frugal.Tests.Data;

/// <summary>The loader's randomness is a function of (seed, epoch): the seed changes the example order and the
/// augmentation draws, the same seed repeats them, and the batches follow the order.</summary>
public class DataLoaderTests
{
    static readonly ImageDataset Data = SyntheticImages.Make(200, 4, 1);

    static float[] Pixels(DataLoader l, int epoch) => l.Epoch(epoch).SelectMany(b => b.Inputs.ToArray()).ToArray();
    static bool Same(float[] a, float[] b) => a.AsSpan().SequenceEqual(b);

    [Fact]
    public void Shuffle_order_depends_on_the_seed_as_well_as_the_epoch()
    {
        DataLoader L(ulong seed) => new(Data, 32, shuffle: true, seed);
        foreach (int epoch in new[] { 1, 2 })
        {
            Assert.Equal(L(5).Order(epoch), L(5).Order(epoch));
            Assert.NotEqual(L(5).Order(epoch), L(6).Order(epoch));
            Assert.NotEqual(L(0).Order(epoch), L(1).Order(epoch));
        }
        Assert.NotEqual(L(5).Order(1), L(5).Order(2));
        // The batches are the order's examples (the last one short: 200 = 6·32 + 8).
        var order = L(6).Order(2);
        Assert.Equal(order.Select(i => Data.Labels[i]), L(6).Epoch(2).SelectMany(b => b.Labels!));
    }

    [Fact]
    public void Augmentation_draws_depend_on_the_seed_as_well_as_the_epoch()
    {
        // No shuffling: the batches differ only through the crops and flips.
        var aug = new Augmentation(CropPadding: 2, HorizontalFlip: true);
        DataLoader L(ulong seed) => new(Data.Take(64) with { Augmentation = aug }, 32, shuffle: false, seed);
        var a = Pixels(L(5), 1);
        Assert.True(Same(a, Pixels(L(5), 1)), "same seed, same epoch");
        Assert.False(Same(a, Pixels(L(6), 1)), "seeds 5 and 6");
        Assert.False(Same(a, Pixels(L(5), 2)), "epochs 1 and 2");
        Assert.False(Same(Pixels(L(0), 1), Pixels(L(1), 1)), "seeds 0 and 1");
        Assert.False(Same(a, Pixels(new DataLoader(Data.Take(64), 32, shuffle: false, 5), 1)), "the control: augmentation acts");
    }
}
