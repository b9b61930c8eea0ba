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

    /// <summary>
    /// Loads both splits. Labels must lie in 0..<paramref name="classes"/>−1: a label outside is refused naming its
    /// file and index, never taken as a reason to widen the classifier. Both splits must have images of one shape.
    /// </summary>
    public static (ImageDataset Train, ImageDataset Test) Load(string? directory = null, int classes = 10)
    {
        if (classes < 1)
            throw new ArgumentOutOfRangeException(nameof(classes), $"data: classes is {classes}; a classifier needs at least 1 (Fashion-MNIST has 10)");
        var dir = directory ?? DefaultDirectory;
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException(dir == DefaultDirectory
                ? $"data: {dir} does not exist. Install Fashion-MNIST with: sudo apt-get install dataset-fashion-mnist (or give another folder of MNIST-format IDX files as data_dir)"
                : File.Exists(dir) ? $"data: {dir} is a file; give the folder that holds the MNIST-format IDX files"
                : $"data: folder {dir} does not exist (expected MNIST-format IDX files in it)");
        var (train, trainImages) = LoadSplit(dir, "train", classes);
        var (test, testImages) = LoadSplit(dir, "t10k", classes);
        if (train.Height != test.Height || train.Width != test.Width)
            throw new InvalidDataException($"data: {trainImages} has {train.Height}x{train.Width} images but {testImages} has {test.Height}x{test.Width}; both splits must have one image size");
        return (train, test);
    }

    static (ImageDataset Split, string ImagesFile) LoadSplit(string dir, string split, int classes)
    {
        string imagesFile = Find(dir, $"{split}-images-idx3-ubyte"), labelsFile = Find(dir, $"{split}-labels-idx1-ubyte");
        var images = IdxFile.Read(imagesFile);
        var labels = IdxFile.Read(labelsFile);
        if (images.Dims.Length != 3)
            throw new InvalidDataException($"data: {imagesFile} has dimensions [{string.Join(", ", images.Dims)}]; expected 3 dimensions (count, rows, cols)");
        if (labels.Dims.Length != 1 || labels.Dims[0] != images.Dims[0])
            throw new InvalidDataException($"data: {imagesFile} has {images.Dims[0]} images but {labelsFile} has labels of shape [{string.Join(", ", labels.Dims)}]; expected [{images.Dims[0]}]");
        int bad = Array.FindIndex(labels.Data, b => b >= classes);
        if (bad >= 0)
            throw new InvalidDataException($"data: {labelsFile}: label {labels.Data[bad]} at index {bad} is outside 0..{classes - 1} ({classes} classes); fix the file, or load it with more classes if the data set has them");
        var lab = Array.ConvertAll(labels.Data, b => (int)b);
        return (new ImageDataset(images.Data, lab, 1, images.Dims[1], images.Dims[2], classes).Validate(imagesFile), imagesFile);
    }

    /// <summary>
    /// Accepts "name", "name.gz" and the dotted variant "train-images.idx3-ubyte". The first name that exists as
    /// anything is taken, so a folder or pipe of that name is refused by the reader rather than skipped over.
    /// </summary>
    static string Find(string dir, string name)
    {
        string[] candidates = [name + ".gz", name, name.Replace("-idx", ".idx") + ".gz", name.Replace("-idx", ".idx")];
        foreach (var c in candidates)
        {
            var p = Path.Combine(dir, c);
            if (Path.Exists(p)) return p;
        }
        throw new FileNotFoundException($"data: {Path.Combine(dir, name)}[.gz] not found", Path.Combine(dir, name));
    }
}
