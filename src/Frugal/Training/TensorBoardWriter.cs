// Scalar logging in TensorBoard's event-file format: TFRecord framing around hand-encoded `Event`
// protobufs (tensorflow/core/util/event.proto, summary.proto), so no protobuf or TensorFlow package is needed.
//   record  = uint64 length (LE) | uint32 masked crc32c(length bytes) | data | uint32 masked crc32c(data)
//   Event   = { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary = { repeated Value value = 1; }   Value = { string tag = 1; float simple_value = 2; }
using System.Buffers.Binary;
using System.Text;

namespace Frugal.Training;

public sealed class TensorBoardWriter : IDisposable
{
    readonly FileStream _file;
    readonly object _lock = new();
    readonly MemoryStream _event = new();
    readonly MemoryStream _summary = new();
    readonly MemoryStream _value = new();
    bool _disposed;

    /// <summary>The event file being written.</summary>
    public string FilePath { get; }

    /// <summary>
    /// Creates <c>events.out.tfevents.&lt;unix-seconds&gt;.&lt;hostname&gt;</c> in <paramref name="dir"/>
    /// (created if missing) and writes the file-version record TensorBoard expects first.
    /// </summary>
    public TensorBoardWriter(string dir)
    {
        Directory.CreateDirectory(dir);
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string host = SafeHost();
        string name = $"events.out.tfevents.{now}.{host}";
        // Two writers started in the same second in one folder must not share a file; TensorBoard
        // reads any file whose name contains "tfevents", so a suffix is harmless.
        for (int k = 0; ; k++)
        {
            FilePath = Path.Combine(dir, k == 0 ? name : $"{name}.{Environment.ProcessId}.{k}");
            try
            {
                _file = new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 14);
                break;
            }
            catch (IOException) when (File.Exists(FilePath) && k < 100) { }
        }

        _event.SetLength(0);
        WriteDouble(_event, 1, WallTime());
        WriteBytes(_event, 3, Encoding.UTF8.GetBytes("brain.Event:2"));
        WriteRecord(_event);
        _file.Flush();
    }

    /// <summary>Logs <paramref name="value"/> under <paramref name="tag"/> (e.g. "train/loss") at <paramref name="step"/>.</summary>
    public void AddScalar(string tag, float value, long step)
    {
        ArgumentNullException.ThrowIfNull(tag);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _value.SetLength(0);
            WriteBytes(_value, 1, Encoding.UTF8.GetBytes(tag));
            WriteTag(_value, 2, WireFixed32);
            Span<byte> f = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(f, value);
            _value.Write(f);

            _summary.SetLength(0);
            WriteBytes(_summary, 1, _value.GetBuffer().AsSpan(0, (int)_value.Length));

            _event.SetLength(0);
            WriteDouble(_event, 1, WallTime());
            WriteTag(_event, 2, WireVarint);
            WriteVarint(_event, (ulong)step); // int64 is encoded as its two's-complement bits
            WriteBytes(_event, 5, _summary.GetBuffer().AsSpan(0, (int)_summary.Length));
            WriteRecord(_event);
        }
    }

    /// <summary>Pushes buffered records to the file so a running TensorBoard sees them.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _file.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _file.Dispose();
        }
    }

    // ---- TFRecord framing -------------------------------------------------------------------

    void WriteRecord(MemoryStream data)
    {
        var payload = data.GetBuffer().AsSpan(0, (int)data.Length);
        Span<byte> head = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(head, (ulong)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], Crc32C.Mask(Crc32C.Compute(head[..8])));
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(tail, Crc32C.Mask(Crc32C.Compute(payload)));
        _file.Write(head);
        _file.Write(payload);
        _file.Write(tail);
    }

    // ---- minimal protobuf encoding ------------------------------------------------------------

    const int WireVarint = 0, WireFixed64 = 1, WireBytes = 2, WireFixed32 = 5;

    static void WriteTag(Stream s, int field, int wire) => WriteVarint(s, (ulong)((field << 3) | wire));

    static void WriteVarint(Stream s, ulong v)
    {
        while (v >= 0x80)
        {
            s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }
        s.WriteByte((byte)v);
    }

    static void WriteDouble(Stream s, int field, double v)
    {
        WriteTag(s, field, WireFixed64);
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(b, v);
        s.Write(b);
    }

    static void WriteBytes(Stream s, int field, ReadOnlySpan<byte> bytes)
    {
        WriteTag(s, field, WireBytes);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    static double WallTime() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>The host name, with path separators and odd characters replaced so it can name a file.</summary>
    static string SafeHost()
    {
        string h;
        try { h = Environment.MachineName; } catch (InvalidOperationException) { h = "localhost"; }
        var sb = new StringBuilder(h.Length);
        foreach (var c in h) sb.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_');
        return sb.Length == 0 ? "localhost" : sb.ToString();
    }
}
