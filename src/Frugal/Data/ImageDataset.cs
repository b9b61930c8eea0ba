namespace Frugal.Data;

/// <summary>
/// Labelled single- or multi-channel 8-bit images held in memory (Fashion-MNIST is 47 MB as bytes),
/// converted to float only when a batch is made.
/// </summary>
public sealed record ImageDataset(byte[] Pixels, int[] Labels, int Channels, int Height, int Width, int Classes)
{
    public int Count => Labels.Length;
    public int ImageSize => Channels * Height * Width;

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
}
