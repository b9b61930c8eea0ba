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
    public void Raw_file_with_bytes_appended_after_valid_data()
    {
        var file = PathFor("appended");
        IdxFile.Write(file, [3, 4], Pattern(12));
        File.AppendAllText(file, "x");
        var ex = ReadFails(file);
        Assert.Contains("1 trailing bytes", ex.Message);
    }

    /// <summary>.NET's GZipStream stops silently at bytes after a member that do not look like a gzip header.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(100)]
    [InlineData(10000)]
    public void Bytes_after_the_gzip_stream_are_rejected(int extra)
    {
        var gz = Gzip(Header(0x08, 50, 3).Concat(Pattern(150)).ToArray());
        var junk = Pattern(extra + 3)[3..];
        junk[0] = 0x42; // not 1f: GZipStream would otherwise look for a second member and fail differently
        var file = PathFor("junk.gz");
        File.WriteAllBytes(file, [.. gz, .. junk]);
        Assert.Contains("gzip", ReadFails(file).Message);
        // Zeros (padding from a bad copy) too.
        File.WriteAllBytes(file, [.. gz, .. new byte[extra]]);
        Assert.Contains("gzip", ReadFails(file).Message);
    }

    /// <summary>What `gzip` writes for no input (.NET's GZipStream writes nothing at all).</summary>
    static readonly byte[] EmptyGzipMember = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    [Fact]
    public void A_second_gzip_member_is_rejected()
    {
        var raw = Header(0x08, 40).Concat(Pattern(40)).ToArray();
        var file = PathFor("two.gz");
        // The whole IDX in the first member, an empty second one: no extra data comes out, only the framing shows it.
        File.WriteAllBytes(file, [.. Gzip(raw), .. EmptyGzipMember]);
        Assert.Contains("second gzip member", ReadFails(file).Message);
        // The IDX split across two members (what `cat a.gz b.gz` makes): every byte arrives, the file is still refused.
        File.WriteAllBytes(file, [.. Gzip(raw[..20]), .. Gzip(raw[20..])]);
        Assert.Contains("second gzip member", ReadFails(file).Message);
        // A big first member, so the second starts before the byte-wise tail of the reader.
        var big = Header(0x08, 100, 100).Concat(Enumerable.Range(0, 10000).Select(i => (byte)(i * i >> 3)).ToArray()).ToArray();
        File.WriteAllBytes(file, [.. Gzip(big[..9000]), .. Gzip(big[9000..])]);
        Assert.Contains("second gzip member", ReadFails(file).Message);
        File.WriteAllBytes(file, [.. Gzip(big), .. EmptyGzipMember]);
        Assert.Contains("second gzip member", ReadFails(file).Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(5000)]
    [InlineData(200000)]
    public void Single_gzip_stream_of_any_size_is_read(int n)
    {
        // Incompressible and compressible data put the stream's end in and out of the reader's byte-wise tail.
        var noise = new byte[n];
        new Random(n).NextBytes(noise);
        foreach (var data in new[] { noise, new byte[n] })
        {
            var file = PathFor("one.gz");
            IdxFile.Write(file, [n], data, gzip: true);
            Assert.Equal(data, IdxFile.Read(file).Data);
        }
    }

    [Fact]
    public void Missing_file_is_named()
    {
        var file = PathFor("nothing-here");
        var ex = Assert.Throws<FileNotFoundException>(() => IdxFile.Read(file));
        Assert.Contains(file, ex.Message);
    }

    [NotRootFact]
    public void Unreadable_file_is_named()
    {
        var file = PathFor("locked");
        IdxFile.Write(file, [1], [1]);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(file, UnixFileMode.None);   // (NotRootFact skips on Windows)
        Assert.Contains("permission denied", ReadFails(file).Message);
    }

    [Fact]
    public void Folder_instead_of_a_file()
    {
        var dir = PathFor("train-images-idx3-ubyte.gz");
        Directory.CreateDirectory(dir);
        Assert.Contains("is a folder", ReadFails(dir).Message);
    }

    [Fact]
    public void Named_pipe_is_refused_without_opening_it()
    {
        var fifo = PathFor("pipe");
        Assert.True(SpecialFiles.MakeFifo(fifo), "mkfifo (coreutils) failed");
        var ex = Assert.IsType<InvalidDataException>(SpecialFiles.ThrownWithinASecond(() => IdxFile.Read(fifo), fifo, fifo, log: output));
        Assert.Contains(fifo, ex.Message);
        Assert.Contains("pipe", ex.Message);
        output.WriteLine(ex.Message);
        // Through a symbolic link too.
        var link = PathFor("link-to-pipe");
        File.CreateSymbolicLink(link, fifo);
        ex = Assert.IsType<InvalidDataException>(SpecialFiles.ThrownWithinASecond(() => IdxFile.Read(link), link, fifo, log: output));
        Assert.Contains(link, ex.Message);
    }

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/null")]
    [InlineData("/dev/urandom")]
    public void Devices_are_refused(string device)
    {
        Assert.True(File.Exists(device), $"{device} is part of every Linux system");
        var ex = Assert.IsType<InvalidDataException>(SpecialFiles.ThrownWithinASecond(() => IdxFile.Read(device), device, log: output));
        Assert.Contains(device, ex.Message);
        Assert.Contains("device", ex.Message); // not "element type 0x00" from reading zeros
        output.WriteLine(ex.Message);
    }

    [Fact]
    public void Symbolic_link_to_a_regular_file_is_read()
    {
        var file = PathFor("real");
        IdxFile.Write(file, [2, 2], [1, 2, 3, 4], gzip: true);
        var link = PathFor("link");
        File.CreateSymbolicLink(link, file);
        Assert.Equal([1, 2, 3, 4], IdxFile.Read(link).Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Header_declaring_2_to_the_31_images_is_refused_before_reading_data(bool gzip)
    {
        // 2^31 x 28 x 28 is 1.7e12 bytes: refused on the header alone, with a few real images behind it.
        var file = PathFor("huge-images");
        var raw = Header(0x08, 1u << 31, 28, 28).Concat(Pattern(3 * 784)).ToArray();
        File.WriteAllBytes(file, gzip ? Gzip(raw) : raw);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("more than", ReadFails(file).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated over 1 MB for a refused header");
        // Under the cap (840 MB) but more than a small gzip file can hold: refused without a buffer or a full inflate.
        raw = Header(0x08, 1u << 20, 28, 28).Concat(Pattern(3 * 784)).ToArray();
        File.WriteAllBytes(file, gzip ? Gzip(raw) : raw);
        before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("truncated", ReadFails(file).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "allocated over 1 MB for a refused header");
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
