using System.Buffers.Binary;
using System.Text;
using Frugal.Training;

namespace Frugal.Tests.Training;

public sealed class TensorBoardWriterTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frugal-tb-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Crc32c_check_value_and_incremental_append()
    {
        var data = Encoding.ASCII.GetBytes("123456789");
        Assert.Equal(0xE3069283u, Crc32C.Compute(data));
        Assert.Equal(0u, Crc32C.Compute([]));
        Assert.Equal(Crc32C.Compute(data), Crc32C.Append(Crc32C.Compute(data.AsSpan(0, 4)), data.AsSpan(4)));
        // RFC 3720 (iSCSI) test vector: 32 zero bytes.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        foreach (var c in new[] { 0u, 1u, 0xE3069283u, uint.MaxValue }) Assert.Equal(c, Crc32C.Unmask(Crc32C.Mask(c)));
    }

    // ---- an independent minimal reader: TFRecord framing + the few protobuf fields used ----------

    sealed record Event(double WallTime, long Step, string? FileVersion, List<(string Tag, float Value)> Values);

    static uint Masked(ReadOnlySpan<byte> data)
    {
        // Bitwise CRC-32C, deliberately not table-driven, so it does not share code with the writer.
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }

    static List<Event> ReadEvents(string file)
    {
        var bytes = File.ReadAllBytes(file);
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            Assert.True(bytes.Length - at >= 12, "truncated record header");
            ulong len = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            Assert.Equal(Masked(bytes.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));
            at += 12;
            Assert.True((ulong)(bytes.Length - at) >= len + 4, "truncated record");
            var data = bytes.AsSpan(at, (int)len);
            Assert.Equal(Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + (int)len)));
            events.Add(ParseEvent(data.ToArray()));
            at += (int)len + 4;
        }
        return events;
    }

    static ulong Varint(byte[] b, ref int i)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte x = b[i++];
            v |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return v;
        }
    }

    static IEnumerable<(int Field, int Wire, ulong Scalar, byte[] Bytes)> Fields(byte[] msg)
    {
        int i = 0;
        while (i < msg.Length)
        {
            ulong key = Varint(msg, ref i);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: yield return (field, wire, Varint(msg, ref i), []); break;
                case 1: yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(msg.AsSpan(i)), []); i += 8; break;
                case 5: yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(msg.AsSpan(i)), []); i += 4; break;
                case 2:
                    int n = (int)Varint(msg, ref i);
                    yield return (field, wire, 0, msg[i..(i + n)]);
                    i += n;
                    break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
    }

    static Event ParseEvent(byte[] msg)
    {
        double wall = 0; long step = 0; string? version = null;
        var values = new List<(string, float)>();
        foreach (var (field, wire, scalar, bytes) in Fields(msg))
        {
            switch (field)
            {
                case 1: Assert.Equal(1, wire); wall = BitConverter.Int64BitsToDouble((long)scalar); break;
                case 2: Assert.Equal(0, wire); step = (long)scalar; break;
                case 3: Assert.Equal(2, wire); version = Encoding.UTF8.GetString(bytes); break;
                case 5:
                    Assert.Equal(2, wire);
                    foreach (var (vf, vw, _, value) in Fields(bytes))
                    {
                        Assert.Equal((1, 2), (vf, vw)); // Summary.value
                        string tag = ""; float simple = float.NaN;
                        foreach (var (f, w, s, b) in Fields(value))
                        {
                            if (f == 1) { Assert.Equal(2, w); tag = Encoding.UTF8.GetString(b); }
                            else if (f == 2) { Assert.Equal(5, w); simple = BitConverter.Int32BitsToSingle((int)s); }
                            else Assert.Fail($"unexpected Value field {f}");
                        }
                        values.Add((tag, simple));
                    }
                    break;
                default: Assert.Fail($"unexpected Event field {field}"); break;
            }
        }
        return new Event(wall, step, version, values);
    }

    [Fact]
    public void Writes_an_event_file_tensorboard_can_parse()
    {
        double before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 - 1;
        string path;
        using (var w = new TensorBoardWriter(_dir))
        {
            path = w.FilePath;
            w.AddScalar("train/loss", 2.5f, 0);
            w.AddScalar("train/loss", 0.125f, 1);
            w.AddScalar("test/accuracy ünï", 0.875f, 300);
            w.AddScalar("neg", -1e-20f, -5);
            w.AddScalar("big", float.MaxValue, long.MaxValue);
            w.Flush();
            Assert.Equal(6, ReadEvents(path).Count); // readable while still open
        }
        double after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0 + 1;

        var name = Path.GetFileName(path);
        Assert.Equal(_dir, Path.GetDirectoryName(path));
        Assert.Matches(@"^events\.out\.tfevents\.\d{10}\.[A-Za-z0-9_.-]+$", name);

        var events = ReadEvents(path);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Empty(events[0].Values);
        Assert.All(events, e => Assert.InRange(e.WallTime, before, after));

        var scalars = events.Skip(1).Select(e => (e.Values.Single().Tag, e.Values.Single().Value, e.Step)).ToArray();
        Assert.Equal(
        [
            ("train/loss", 2.5f, 0L),
            ("train/loss", 0.125f, 1L),
            ("test/accuracy ünï", 0.875f, 300L),
            ("neg", -1e-20f, -5L),
            ("big", float.MaxValue, long.MaxValue),
        ], scalars);
        Assert.All(events.Skip(1), e => Assert.Null(e.FileVersion));
    }

    [Fact]
    public void Two_writers_in_one_folder_get_separate_files()
    {
        using var a = new TensorBoardWriter(_dir);
        using var b = new TensorBoardWriter(_dir);
        Assert.NotEqual(a.FilePath, b.FilePath);
        Assert.Contains("tfevents", Path.GetFileName(b.FilePath));
    }

    [Fact]
    public void Creates_the_folder_and_rejects_use_after_dispose()
    {
        var dir = Path.Combine(_dir, "runs", "x");
        var w = new TensorBoardWriter(dir);
        Assert.True(Directory.Exists(dir));
        w.Dispose();
        w.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => w.AddScalar("a", 1, 0));
        Assert.Single(ReadEvents(w.FilePath));
    }
}
