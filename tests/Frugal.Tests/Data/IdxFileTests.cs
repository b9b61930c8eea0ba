using System.IO.Compression;
using Frugal.Data;
using Xunit.Abstractions;

namespace Frugal.Tests.Data;

public sealed class IdxFileTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frugal-idx-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string PathFor(string name) => Path.Combine(_dir, name);

    static byte[] Pattern(int n)
    {
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)(i * 37 + 11);
        return b;
    }

    /// <summary>An IDX header written by hand (independent of the writer under test).</summary>
    static byte[] Header(byte type, params uint[] dims)
    {
        var h = new byte[4 + 4 * dims.Length];
        h[2] = type;
        h[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++)
        {
            h[4 + 4 * i] = (byte)(dims[i] >> 24);
            h[5 + 4 * i] = (byte)(dims[i] >> 16);
            h[6 + 4 * i] = (byte)(dims[i] >> 8);
            h[7 + 4 * i] = (byte)dims[i];
        }
        return h;
    }

    static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    InvalidDataException ReadFails(string file)
    {
        var ex = Assert.Throws<InvalidDataException>(() => IdxFile.Read(file));
        Assert.Contains(file, ex.Message);
        output.WriteLine(ex.Message);
        return ex;
    }

    [Theory]
    [InlineData(false, new[] { 7 })]
    [InlineData(false, new[] { 3, 4, 5 })]
    [InlineData(true, new[] { 3, 4, 5 })]
    [InlineData(true, new[] { 2, 1, 3, 2 })]
    public void Round_trip(bool gzip, int[] dims)
    {
        int n = dims.Aggregate(1, (a, b) => a * b);
        var data = Pattern(n);
        var file = PathFor(gzip ? "x.idx" : "x.gz"); // names deliberately misleading: detection is by magic
        IdxFile.Write(file, dims, data, gzip);
        var bytes = File.ReadAllBytes(file);
        Assert.Equal(gzip, bytes[0] == 0x1f && bytes[1] == 0x8b);
        var r = IdxFile.Read(file);
        Assert.Equal(dims, r.Dims);
        Assert.Equal(data, r.Data);
        Assert.Equal(dims[0], r.Count);
        Assert.Equal(n / dims[0], r.ItemSize);
    }

    [Fact]
    public void Writer_produces_the_documented_layout()
    {
        var file = PathFor("a.idx");
        IdxFile.Write(file, [2, 3], [1, 2, 3, 4, 5, 6]);
        Assert.Equal([.. Header(0x08, 2, 3), 1, 2, 3, 4, 5, 6], File.ReadAllBytes(file));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_data_names_file_and_byte_counts(bool gzip)
    {
        var raw = Header(0x08, 4, 5).Concat(Pattern(13)).ToArray();
        var file = PathFor("trunc");
        File.WriteAllBytes(file, gzip ? Gzip(raw) : raw);
        var ex = ReadFails(file);
        Assert.Contains("truncated", ex.Message);
        Assert.Contains("20", ex.Message);
        Assert.Contains("13", ex.Message);
    }

    [Fact]
    public void Truncated_header()
    {
        var file = PathFor("short");
        File.WriteAllBytes(file, Header(0x08, 4, 5)[..9]);
        Assert.Contains("header", ReadFails(file).Message);
        File.WriteAllBytes(file, [0, 0]);
        Assert.Contains("too short", ReadFails(file).Message);
        File.WriteAllBytes(file, []);
        ReadFails(file);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Trailing_bytes_are_rejected(bool gzip)
    {
        var raw = Header(0x08, 2, 2).Concat(Pattern(7)).ToArray();
        var file = PathFor("trail");
        File.WriteAllBytes(file, gzip ? Gzip(raw) : raw);
        Assert.Contains("trailing", ReadFails(file).Message);
    }

    [Fact]
    public void Wrong_magic()
    {
        var raw = Header(0x08, 2).Concat(Pattern(2)).ToArray();
        raw[0] = 0x50;
        var file = PathFor("magic");
        File.WriteAllBytes(file, raw);
        Assert.Contains("magic", ReadFails(file).Message);
    }

    [Fact]
    public void Other_element_types_are_rejected_by_name()
    {
        var file = PathFor("float");
        File.WriteAllBytes(file, Header(0x0D, 2).Concat(new byte[8]).ToArray());
        var ex = ReadFails(file);
        Assert.Contains("0x0d", ex.Message);
        Assert.Contains("float32", ex.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Rank_outside_1_to_4(int rank)
    {
        var file = PathFor("rank");
        File.WriteAllBytes(file, Header(0x08, Enumerable.Repeat(1u, rank).ToArray()).Concat(new byte[1]).ToArray());
        Assert.Contains($"rank {rank}", ReadFails(file).Message);
    }

    [Fact]
    public void Zero_dimension()
    {
        var file = PathFor("zero");
        File.WriteAllBytes(file, Header(0x08, 3, 0, 2));
        Assert.Contains("dimension 1 is 0", ReadFails(file).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Huge_declared_size_fails_without_allocating_it(bool gzip)
    {
        // 2^32-1 cubed overflows long if multiplied naively; 65536^2 = 2^32 is over the 2^31 cap.
        var file = PathFor("huge");
        var raw = Header(0x08, uint.MaxValue, uint.MaxValue, uint.MaxValue).Concat(Pattern(100)).ToArray();
        File.WriteAllBytes(file, gzip ? Gzip(raw) : raw);
        Assert.Contains("more than", ReadFails(file).Message);
        raw = Header(0x08, 65536, 65536).Concat(Pattern(100)).ToArray();
        File.WriteAllBytes(file, gzip ? Gzip(raw) : raw);
        Assert.Contains("more than", ReadFails(file).Message);
        // Under the cap but far more than the file holds: reported as truncation after reading what exists.
        raw = Header(0x08, 1 << 30).Concat(Pattern(100)).ToArray();
        File.WriteAllBytes(file, gzip ? Gzip(raw) : raw);
        Assert.Contains("truncated", ReadFails(file).Message);
    }

    [Fact]
    public void Corrupt_gzip_names_the_file()
    {
        var raw = Header(0x08, 100).Concat(Pattern(100)).ToArray();
        var gz = Gzip(raw);
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A; // damage the deflate stream, keep the gzip magic
        var file = PathFor("bad.gz");
        File.WriteAllBytes(file, gz);
        var ex = Assert.ThrowsAny<InvalidDataException>(() => IdxFile.Read(file));
        Assert.Contains(file, ex.Message);
        output.WriteLine(ex.Message);
    }

    [Fact]
    public void Gzip_cut_short_names_the_file()
    {
        var gz = Gzip(Header(0x08, 1000).Concat(Pattern(1000)).ToArray());
        var file = PathFor("cut.gz");
        File.WriteAllBytes(file, gz[..(gz.Length / 2)]);
        ReadFails(file);
    }

    [Fact]
    public void Writer_rejects_mismatched_data()
    {
        var file = PathFor("w");
        var ex = Assert.Throws<ArgumentException>(() => IdxFile.Write(file, [2, 3], new byte[5]));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("5", ex.Message);
        Assert.Throws<ArgumentException>(() => IdxFile.Write(file, [2, 0], []));
        Assert.Throws<ArgumentException>(() => IdxFile.Write(file, [], []));
        Assert.False(File.Exists(file));
    }

    const string FashionDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>
    /// Reads the installed Fashion-MNIST (Debian dataset-fashion-mnist). xunit 2 has no dynamic skip, so
    /// when the files are absent the test passes after writing the reason to its output.
    /// </summary>
    [Theory]
    [InlineData("train", 60000)]
    [InlineData("t10k", 10000)]
    public void Reads_installed_fashion_mnist_when_present(string split, int count)
    {
        var images = Path.Combine(FashionDir, $"{split}-images-idx3-ubyte.gz");
        var labels = Path.Combine(FashionDir, $"{split}-labels-idx1-ubyte.gz");
        if (!File.Exists(images) || !File.Exists(labels))
        {
            output.WriteLine($"SKIPPED: {images} or {labels} not found (install dataset-fashion-mnist)");
            return;
        }
        var x = IdxFile.Read(images);
        Assert.Equal([count, 28, 28], x.Dims);
        Assert.Equal(count * 784, x.Data.Length);
        var y = IdxFile.Read(labels);
        Assert.Equal([count], y.Dims);
        var histogram = new int[10];
        foreach (var l in y.Data)
        {
            Assert.InRange(l, 0, 9);
            histogram[l]++;
        }
        // Fashion-MNIST is balanced: every class has exactly a tenth of each split.
        Assert.All(histogram, h => Assert.Equal(count / 10, h));
        Assert.Contains(x.Data, p => p == 255);
    }
}
