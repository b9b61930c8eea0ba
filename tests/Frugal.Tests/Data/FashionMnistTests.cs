using Frugal.Data;
using Frugal.Tests.Training;
using Xunit.Abstractions;

namespace Frugal.Tests.Data;

/// <summary>FashionMnist.Load on MNIST-format folders made on the spot: labels, shapes and files that must be refused.</summary>
public sealed class FashionMnistTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frugal-fmnist-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string File_(string split, string kind) => Path.Combine(_dir, $"{split}-{kind}-idx{(kind == "images" ? 3 : 1)}-ubyte.gz");

    /// <summary>A valid folder: 12 training and 6 test images of 28x28, labels 0..9.</summary>
    void WriteValid() => SyntheticImages.WriteIdxFolder(_dir, SyntheticImages.Make(12, 10, 1), SyntheticImages.Make(6, 10, 2));

    InvalidDataException LoadFails(params string[] named)
    {
        var ex = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(_dir));
        foreach (var n in named) Assert.Contains(n, ex.Message);
        output.WriteLine(ex.Message);
        return ex;
    }

    [Fact]
    public void Valid_folder_loads_with_ten_classes()
    {
        WriteValid();
        var (train, test) = FashionMnist.Load(_dir);
        Assert.Equal((12, 6, 10, 10), (train.Count, test.Count, train.Classes, test.Classes));
    }

    [Theory]
    [InlineData("train", 10)]
    [InlineData("train", 255)]
    [InlineData("t10k", 10)]
    [InlineData("t10k", 200)]
    public void Label_outside_the_classes_is_refused_naming_file_and_index(string split, byte label)
    {
        WriteValid();
        int n = split == "train" ? 12 : 6;
        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        labels[4] = label;
        labels[5] = label; // only the first bad index is named
        IdxFile.Write(File_(split, "labels"), [n], labels, gzip: true);
        var ex = LoadFails(File_(split, "labels"), "index 4", $"label {label}");
        Assert.DoesNotContain("index 5", ex.Message);
    }

    [Fact]
    public void Classes_is_a_parameter_not_read_from_the_labels()
    {
        WriteValid();
        IdxFile.Write(File_("train", "labels"), [12], Enumerable.Range(0, 12).Select(i => (byte)i).ToArray(), gzip: true);
        var (train, test) = FashionMnist.Load(_dir, classes: 12);
        Assert.Equal((12, 12), (train.Classes, test.Classes));
        Assert.Equal(11, train.Labels.Max());
        Assert.Throws<ArgumentOutOfRangeException>(() => FashionMnist.Load(_dir, classes: 0));
    }

    [Fact]
    public void Image_size_differing_between_splits_names_both_files()
    {
        WriteValid();
        IdxFile.Write(File_("t10k", "images"), [6, 32, 32], new byte[6 * 32 * 32], gzip: true);
        var ex = LoadFails(File_("train", "images"), File_("t10k", "images"));
        Assert.Contains("28x28", ex.Message);
        Assert.Contains("32x32", ex.Message);
    }

    [Fact]
    public void Image_rank_other_than_3_names_the_file()
    {
        WriteValid();
        IdxFile.Write(File_("t10k", "images"), [6, 1, 28, 28], new byte[6 * 784], gzip: true);
        Assert.Contains("[6, 1, 28, 28]", LoadFails(File_("t10k", "images")).Message);
    }

    [Fact]
    public void Image_and_label_counts_differing_name_both_files()
    {
        WriteValid();
        IdxFile.Write(File_("train", "labels"), [11], new byte[11], gzip: true);
        Assert.Contains("12 images", LoadFails(File_("train", "images"), File_("train", "labels")).Message);
        IdxFile.Write(File_("train", "labels"), [12, 1], new byte[12], gzip: true);
        Assert.Contains("[12, 1]", LoadFails(File_("train", "images"), File_("train", "labels")).Message);
    }

    [Fact]
    public void Folder_named_like_an_idx_file_is_refused_not_skipped()
    {
        WriteValid();
        File.Delete(File_("train", "images"));
        Directory.CreateDirectory(File_("train", "images"));
        Assert.Contains("is a folder", LoadFails(File_("train", "images")).Message);
    }

    [Fact]
    public void Named_pipe_as_an_idx_file_is_refused_without_waiting()
    {
        WriteValid();
        var fifo = File_("t10k", "labels");
        File.Delete(fifo);
        Assert.True(SpecialFiles.MakeFifo(fifo), "mkfifo (coreutils) failed");
        var ex = Assert.IsType<InvalidDataException>(SpecialFiles.ThrownWithinASecond(() => FashionMnist.Load(_dir), fifo, fifo, log: output));
        Assert.Contains(fifo, ex.Message);
        Assert.Contains("named pipe", ex.Message);
        output.WriteLine(ex.Message);
    }

    [Fact]
    public void Device_as_an_idx_file_is_refused()
    {
        WriteValid();
        var link = File_("train", "images");
        File.Delete(link);
        File.CreateSymbolicLink(link, "/dev/zero");
        var ex = Assert.IsType<InvalidDataException>(SpecialFiles.ThrownWithinASecond(() => FashionMnist.Load(_dir), link, log: output));
        Assert.Contains(link, ex.Message);
        Assert.Contains("device", ex.Message);
    }

    [Fact]
    public void Missing_file_is_named()
    {
        WriteValid();
        File.Delete(File_("t10k", "images"));
        var ex = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_dir));
        Assert.Contains(Path.Combine(_dir, "t10k-images-idx3-ubyte"), ex.Message);
    }
}
