namespace Frugal.Data;

/// <summary>
/// Fashion-MNIST (or any MNIST-format folder): the four IDX files train/t10k-images/labels, gzip or raw.
/// Default folder is Debian's dataset-fashion-mnist package; nothing is downloaded.
/// </summary>
public static class FashionMnist
{
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Pixel mean and std of the Fashion-MNIST training set (the PyTorch reference's normalisation).</summary>
    public const float Mean = 0.2860f, Std = 0.3530f;

    public static (ImageDataset Train, ImageDataset Test) Load(string? directory = null)
    {
        var dir = directory ?? DefaultDirectory;
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException(dir == DefaultDirectory
                ? $"data: {dir} does not exist. Install Fashion-MNIST with: sudo apt-get install dataset-fashion-mnist (or give another folder of MNIST-format IDX files as data_dir)"
                : $"data: folder {dir} does not exist (expected MNIST-format IDX files in it)");
        return (LoadSplit(dir, "train"), LoadSplit(dir, "t10k"));
    }

    static ImageDataset LoadSplit(string dir, string split)
    {
        var images = IdxFile.Read(Find(dir, $"{split}-images-idx3-ubyte"));
        var labels = IdxFile.Read(Find(dir, $"{split}-labels-idx1-ubyte"));
        if (images.Dims.Length != 3)
            throw new InvalidDataException($"data: {split} images have {images.Dims.Length} dimensions, expected 3 (count, rows, cols)");
        if (labels.Dims.Length != 1 || labels.Dims[0] != images.Dims[0])
            throw new InvalidDataException($"data: {split} has {images.Dims[0]} images but labels of shape [{string.Join(", ", labels.Dims)}]");
        var lab = labels.Data.Select(b => (int)b).ToArray();
        int classes = Math.Max(10, lab.Length == 0 ? 0 : lab.Max() + 1);
        return new ImageDataset(images.Data, lab, 1, images.Dims[1], images.Dims[2], classes).Validate($"{dir}/{split}");
    }

    /// <summary>Accepts "name", "name.gz" and the dotted variant "train-images.idx3-ubyte".</summary>
    static string Find(string dir, string name)
    {
        string[] candidates = [name + ".gz", name, name.Replace("-idx", ".idx") + ".gz", name.Replace("-idx", ".idx")];
        foreach (var c in candidates)
        {
            var p = Path.Combine(dir, c);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"data: {Path.Combine(dir, name)}[.gz] not found");
    }
}
