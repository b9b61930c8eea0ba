using Frugal.Data;
using Frugal.Tensors;

namespace Frugal.Tests.Training;

/// <summary>A learnable 28×28 data set made on the spot: each class is a bright square at its own place, plus noise.</summary>
static class SyntheticImages
{
    public static ImageDataset Make(int count, int classes, ulong seed)
    {
        var g = new Generator(seed);
        var px = new byte[count * 784];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int c = g.NextInt(classes);
            labels[i] = c;
            int r0 = 2 + (c * 7) % 20, c0 = 2 + (c * 11) % 20;
            for (int j = 0; j < 784; j++)
            {
                int r = j / 28, q = j % 28;
                bool on = r >= r0 && r < r0 + 6 && q >= c0 && q < c0 + 6;
                px[i * 784 + j] = (byte)Math.Clamp((on ? 180 : 20) + (int)(g.NextDouble() * 60 - 30), 0, 255);
            }
        }
        return new ImageDataset(px, labels, 1, 28, 28, Math.Max(10, classes));
    }

    /// <summary>Writes train/t10k IDX files (gzip) into a folder, as an MNIST-format data dir.</summary>
    public static string WriteIdxFolder(string dir, ImageDataset train, ImageDataset test)
    {
        Directory.CreateDirectory(dir);
        foreach (var (name, d) in new[] { ("train", train), ("t10k", test) })
        {
            IdxFile.Write(Path.Combine(dir, $"{name}-images-idx3-ubyte.gz"), [d.Count, 28, 28], d.Pixels, gzip: true);
            IdxFile.Write(Path.Combine(dir, $"{name}-labels-idx1-ubyte.gz"), [d.Count], d.Labels.Select(l => (byte)l).ToArray(), gzip: true);
        }
        return dir;
    }
}
