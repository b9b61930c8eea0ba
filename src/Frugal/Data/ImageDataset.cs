using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>
/// Labelled single- or multi-channel 8-bit images held in memory (Fashion-MNIST is 47 MB as bytes), converted to
/// float only when a batch is made: normalised to (x/255 − <see cref="Mean"/>)/<see cref="Std"/>, then augmented
/// when <see cref="Augmentation"/> asks (give the training split an augmentation, the test split none).
/// </summary>
public sealed record ImageDataset(byte[] Pixels, int[] Labels, int Channels, int Height, int Width, int Classes) : IDataset
{
    public int Count => Labels.Length;
    public int ImageSize => Channels * Height * Width;
    /// <summary>Pixel mean and std on the 0..1 scale (default: Fashion-MNIST's training set, the PyTorch reference's).</summary>
    public float Mean { get; init; } = FashionMnist.Mean;
    public float Std { get; init; } = FashionMnist.Std;
    public Augmentation Augmentation { get; init; } = Augmentation.None;

    /// <summary>Checks sizes agree; names what differs.</summary>
    public ImageDataset Validate(string source)
    {
        if (Pixels.Length != (long)Count * ImageSize)
            throw new InvalidDataException($"{source}: {Pixels.Length} pixel bytes for {Count} labels of {Channels}x{Height}x{Width} (expected {(long)Count * ImageSize})");
        for (int i = 0; i < Labels.Length; i++)
            if (Labels[i] < 0 || Labels[i] >= Classes)
                throw new InvalidDataException($"{source}: label {Labels[i]} at index {i} is outside 0..{Classes - 1}");
        return this;
    }

    /// <summary>The first <paramref name="n"/> examples (for quick runs).</summary>
    public ImageDataset Take(int n) => n <= 0 || n >= Count ? this
        : this with { Pixels = Pixels[..(n * ImageSize)], Labels = Labels[..n] };

    public Batch GetBatch(ReadOnlySpan<int> indices, Device device, Generator random)
    {
        int n = indices.Length, c = Channels, h = Height, w = Width, size = ImageSize;
        var x = new float[n * size];
        var y = new int[n];
        float scale = 1f / (255f * Std), shift = -Mean / Std;
        var (aug, px, labels) = (Augmentation, Pixels, Labels);
        for (int i = 0; i < n; i++)
        {
            int src = indices[i] * size;
            y[i] = labels[indices[i]];
            var dst = x.AsSpan(i * size, size);
            if (!aug.Enabled)
            {
                for (int j = 0; j < size; j++) dst[j] = px[src + j] * scale + shift;
                continue;
            }
            // Random crop of a zero-padded image: output pixel (r, q) reads input (r + dy − pad, q + dx − pad);
            // padding pixels are 0 before normalisation, as torchvision's RandomCrop(padding) does.
            int pad = aug.CropPadding;
            int dy = pad > 0 ? random.NextInt(2 * pad + 1) : pad, dx = pad > 0 ? random.NextInt(2 * pad + 1) : pad;
            bool flip = aug.HorizontalFlip && random.NextDouble() < 0.5;
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
