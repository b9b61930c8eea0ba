using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using Frugal.Data;
using Frugal.Tests.Training;
using Xunit.Abstractions;

namespace Frugal.Tests.Data;

/// <summary>
/// Seeded mutations of valid IDX files (raw and gzip, images and labels): every read either returns data that
/// matches the file's own header, or throws <see cref="InvalidDataException"/>, one line, naming the file. Nothing
/// else may escape (IndexOutOfRange, Overflow, OutOfMemory, EndOfStream), and no read may take long.
/// </summary>
public sealed class IdxFuzzTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frugal-idxfuzz-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly ImageDataset Images = SyntheticImages.Make(6, 10, 7);

    static byte[] RawIdx(int[] dims, byte[] data)
    {
        var b = new byte[4 + 4 * dims.Length + data.Length];
        b[2] = IdxFile.UnsignedByte;
        b[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(b, 4 + 4 * dims.Length);
        return b;
    }

    static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var z = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
        return ms.ToArray();
    }

    static readonly (string Name, byte[] Raw)[] Bases =
    [
        ("images", RawIdx([Images.Count, 28, 28], Images.Pixels)),
        ("labels", RawIdx([Images.Count], Images.Labels.Select(l => (byte)l).ToArray())),
    ];

    /// <summary>
    /// One seeded mutation. Header changes (dimensions, rank, type) are made on the uncompressed bytes so that they
    /// survive a gzip wrapper; the byte-level ones hit the file as stored.
    /// </summary>
    static (string Kind, byte[] File) Mutate(byte[] raw, bool gzip, Random r)
    {
        int kind = r.Next(9);
        if (kind >= 6)
        {
            var m = (byte[])raw.Clone();
            int rank = m[3];
            string what;
            switch (kind)
            {
                case 6:
                    int k = r.Next(rank);
                    uint d = BinaryPrimitives.ReadUInt32BigEndian(m.AsSpan(4 + 4 * k));
                    uint[] choices = [0, 1, d - 1, d + 1, d * 2, d / 2 + 1, 1u << 31, uint.MaxValue, (uint)r.Next(), 65536];
                    BinaryPrimitives.WriteUInt32BigEndian(m.AsSpan(4 + 4 * k), choices[r.Next(choices.Length)]);
                    what = "dimension";
                    break;
                case 7:
                    m[2 + r.Next(2)] = (byte)(r.Next(2) == 0 ? r.Next(256) : r.Next(6));
                    what = "type/rank";
                    break;
                default:
                    // A data byte set to a high value: a label out of range, or a bright pixel (both well-formed IDX).
                    m[4 + 4 * rank + r.Next(m.Length - 4 - 4 * rank)] = (byte)(10 + r.Next(246));
                    what = "data value";
                    break;
            }
            return ($"header {what}{(gzip ? " (gzip)" : "")}", gzip ? Gzip(m) : m);
        }
        var f = gzip ? Gzip(raw) : (byte[])raw.Clone();
        switch (kind)
        {
            case 0:
                for (int i = 1 + r.Next(3); i > 0; i--) f[r.Next(f.Length)] ^= (byte)(1 << r.Next(8));
                return ("bit flip", f);
            case 1:
                // Half the overwrites hit the first 24 bytes, where the IDX or gzip header is.
                f[r.Next(2) == 0 ? r.Next(Math.Min(24, f.Length)) : r.Next(f.Length)] = (byte)r.Next(256);
                return ("overwrite", f);
            case 2:
                return ("truncation", f[..r.Next(f.Length)]);
            case 3:
                var ins = new byte[1 + r.Next(8)];
                r.NextBytes(ins);
                int at = r.Next(f.Length + 1);
                return ("insertion", [.. f[..at], .. ins, .. f[at..]]);
            case 4:
                var tail = new byte[1 + r.Next(r.Next(2) == 0 ? 8 : 5000)];
                if (r.Next(2) == 0) r.NextBytes(tail);
                return ("appended", [.. f, .. tail]);
            default:
                // A second gzip member (or, raw, a second copy of the file).
                return ("second member", [.. f, .. gzip ? Gzip(raw[..(1 + r.Next(raw.Length))]) : raw]);
        }
    }

    /// <summary>The data a successful read must have returned: what the file's own bytes say, decoded independently.</summary>
    static void AssertMatchesFile(byte[] file, IdxData got)
    {
        Assert.Equal(got.Dims.Aggregate(1L, (a, b) => a * b), got.Data.LongLength);
        bool gzip = file.Length >= 2 && file[0] == 0x1f && file[1] == 0x8b;
        byte[] raw = file;
        if (gzip)
        {
            using var z = new GZipStream(new MemoryStream(file), CompressionMode.Decompress);
            var ms = new MemoryStream();
            z.CopyTo(ms);
            raw = ms.ToArray();
            // That decoder ignores bytes after the stream; the file must end with this stream's length field.
            Assert.Equal((uint)raw.Length, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 4)));
        }
        Assert.Equal(RawIdx(got.Dims, got.Data), raw);
    }

    /// <summary>Outcomes by kind: "loaded", or the refusal with the path and numbers taken out (for the summary).</summary>
    sealed class Tally
    {
        readonly SortedDictionary<string, int> _counts = new();
        public int Loaded, Refused;

        public void Ok(string mutation) { Loaded++; Add($"loaded    <- {mutation}"); }

        public void Bad(Exception? e, string path, string mutation)
        {
            var ex = Assert.IsType<InvalidDataException>(e);
            Assert.True(ex.Message.Contains(path), $"{mutation}: the message does not name {path}: {ex.Message}");
            Assert.DoesNotContain('\n', ex.Message);
            Refused++;
            var reason = Regex.Replace(ex.Message.Replace(path, "FILE"), @"magic [0-9a-f]{2} [0-9a-f]{2}|0x[0-9a-f]+|\d+", m => m.Value.StartsWith("magic") ? "magic N" : "N");
            Add($"refused   <- {mutation}: {string.Join(' ', reason.Split(' ').Take(9))}");
        }

        void Add(string key) => _counts[key] = _counts.GetValueOrDefault(key) + 1;

        public void Print(ITestOutputHelper o, string title)
        {
            o.WriteLine($"{title}: {Loaded + Refused} mutated inputs, {Loaded} loaded consistently with their header, {Refused} refused with a clean InvalidDataException");
            foreach (var (k, n) in _counts) o.WriteLine($"  {n,4}  {k}");
        }
    }

    /// <summary>Runs <paramref name="read"/> with a bound, so that a regression that hangs fails instead.</summary>
    static Exception? Run(Action read, string path)
    {
        var task = Task.Run(read);
        if (!task.ContinueWith(_ => { }).Wait(TimeSpan.FromSeconds(5)))
            Assert.Fail($"reading {path} took over 5 s");
        return task.Exception?.InnerException;
    }

    [Fact]
    public void Mutated_idx_files_are_read_consistently_or_refused_cleanly()
    {
        var clock = Stopwatch.StartNew();
        var tally = new Tally();
        var r = new Random(11);
        for (int i = 0; i < 480; i++)
        {
            var (name, raw) = Bases[i % 2];
            bool gzip = i / 2 % 2 == 1;
            var (mutation, bytes) = Mutate(raw, gzip, r);
            mutation = $"{name} {(gzip ? "gz" : "raw")} {mutation}";
            var path = Path.Combine(_dir, $"case{i}-{name}{(gzip ? ".gz" : "")}");
            File.WriteAllBytes(path, bytes);
            IdxData? got = null;
            var e = Run(() => got = IdxFile.Read(path), path);
            if (e == null) { AssertMatchesFile(bytes, got!); tally.Ok(mutation); }
            else tally.Bad(e, path, mutation);
        }
        tally.Print(output, $"IdxFile.Read ({clock.ElapsedMilliseconds} ms)");
        Assert.True(tally.Refused > 100 && tally.Loaded > 20, "the mutations should give both outcomes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Mutated_fashion_mnist_folders_load_consistently_or_are_refused_cleanly()
    {
        var clock = Stopwatch.StartNew();
        var train = SyntheticImages.Make(8, 10, 3);
        var test = SyntheticImages.Make(5, 10, 4);
        // Train gzip, test raw: both readers' paths under one Load.
        var valid = new (string File, byte[] Raw, bool Gzip)[]
        {
            ("train-images-idx3-ubyte.gz", RawIdx([8, 28, 28], train.Pixels), true),
            ("train-labels-idx1-ubyte.gz", RawIdx([8], train.Labels.Select(l => (byte)l).ToArray()), true),
            ("t10k-images-idx3-ubyte", RawIdx([5, 28, 28], test.Pixels), false),
            ("t10k-labels-idx1-ubyte", RawIdx([5], test.Labels.Select(l => (byte)l).ToArray()), false),
        };
        var tally = new Tally();
        var r = new Random(12);
        for (int i = 0; i < 240; i++)
        {
            var dir = Path.Combine(_dir, $"folder{i}");
            Directory.CreateDirectory(dir);
            foreach (var v in valid) File.WriteAllBytes(Path.Combine(dir, v.File), v.Gzip ? Gzip(v.Raw) : v.Raw);
            var target = valid[i % 4];
            var (mutation, bytes) = Mutate(target.Raw, target.Gzip, r);
            mutation = $"{target.File} {mutation}";
            var path = Path.Combine(dir, target.File);
            File.WriteAllBytes(path, bytes);
            (ImageDataset Train, ImageDataset Test) got = default;
            var e = Run(() => got = FashionMnist.Load(dir), path);
            if (e == null)
            {
                foreach (var d in new[] { got.Train!, got.Test! })
                {
                    Assert.Equal((long)d.Count * d.ImageSize, d.Pixels.LongLength);
                    Assert.All(d.Labels, l => Assert.InRange(l, 0, 9));
                    Assert.Equal(10, d.Classes);
                }
                Assert.Equal((got.Train!.Height, got.Train.Width), (got.Test!.Height, got.Test.Width));
                tally.Ok(mutation);
            }
            else tally.Bad(e, path, mutation);
            Directory.Delete(dir, recursive: true);
        }
        tally.Print(output, $"FashionMnist.Load ({clock.ElapsedMilliseconds} ms)");
        Assert.True(tally.Refused > 50 && tally.Loaded > 10, "the mutations should give both outcomes");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"took {clock.Elapsed}");
    }
}
