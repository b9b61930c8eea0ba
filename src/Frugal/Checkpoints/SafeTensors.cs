// The safetensors checkpoint format (what PyTorch's safetensors.torch.save_file writes and load_file reads):
// an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// {"name": {"dtype", "shape", "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}} padded with
// spaces to a multiple of 8, then the byte buffer that the offsets index (relative to its start).
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Frugal.Tensors;

namespace Frugal.Checkpoints;

/// <summary>A loaded safetensors file: tensors in file (data offset) order, their stored dtypes, and the metadata.</summary>
public sealed record SafeTensorsFile(
    OrderedDictionary<string, Tensor> Tensors,
    IReadOnlyDictionary<string, string> Dtypes,
    IReadOnlyDictionary<string, string> Metadata)
{
    public Tensor this[string name] => Tensors.TryGetValue(name, out var t)
        ? t : throw new KeyNotFoundException($"safetensors: no tensor named '{name}' (has {string.Join(", ", Tensors.Keys)})");
}

public static class SafeTensors
{
    /// <summary>Largest JSON header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    const string MetadataKey = "__metadata__";
    const int Chunk = 1 << 20;

    /// <summary>Element sizes of the dtypes this reader converts to float32.</summary>
    static readonly Dictionary<string, int> ItemSizes = new()
    {
        ["F32"] = 4, ["F16"] = 2, ["BF16"] = 2, ["F64"] = 8,
        ["I64"] = 8, ["I32"] = 4, ["I16"] = 2, ["I8"] = 1,
        ["U64"] = 8, ["U32"] = 4, ["U16"] = 2, ["U8"] = 1, ["BOOL"] = 1,
    };

    // ---- writing ------------------------------------------------------------------------------

    /// <summary>
    /// Writes <paramref name="tensors"/> in the given order as F32 (or I64 where <paramref name="isInt64"/>
    /// says so, e.g. BatchNorm's num_batches_tracked, which PyTorch's load_state_dict expects as int64).
    /// Written through <see cref="IO.AtomicFile"/>: a failure (or crash) leaves any previous file intact.
    /// </summary>
    public static void Save(string path, IEnumerable<(string Name, Tensor Value)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, Func<string, bool>? isInt64 = null)
    {
        // Materialise first: the header needs every shape before the first data byte.
        var list = tensors.ToList();
        var entries = new List<(string Name, Tensor Value, bool Int64, long Begin, long End)>(list.Count);
        var seen = new HashSet<string>();
        long offset = 0;
        foreach (var (name, value) in list)
        {
            if (name == MetadataKey) throw new ArgumentException($"safetensors: '{MetadataKey}' is reserved and cannot name a tensor (writing {path})");
            if (!seen.Add(name)) throw new ArgumentException($"safetensors: duplicate tensor name '{name}' (writing {path})");
            bool i64 = isInt64?.Invoke(name) ?? false;
            long bytes = (long)value.Numel * (i64 ? 8 : 4);
            entries.Add((name, value, i64, offset, offset + bytes));
            offset += bytes;
        }

        var header = Header(entries.Select(e => (e.Name, e.Int64 ? "I64" : "F32", e.Value.Shape, e.Begin, e.End)), metadata);

        IO.AtomicFile.Write(path, file =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
            file.Write(len);
            file.Write(header);
            foreach (var e in entries) WriteData(file, e.Value, e.Int64, e.Name, path);
        });
    }

    /// <summary>The JSON header, space-padded so that the data buffer starts 8-byte aligned.</summary>
    static byte[] Header(IEnumerable<(string Name, string Dtype, Shape Shape, long Begin, long End)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            foreach (var (name, dtype, shape, begin, end) in entries)
            {
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                foreach (var d in shape.Dims) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(begin);
                w.WriteNumberValue(end);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int n = (int)ms.Length;
        int padded = (n + 7) / 8 * 8;
        for (int i = n; i < padded; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    /// <summary>Writes one tensor's values little-endian, in bounded chunks (no second full-size copy).</summary>
    static void WriteData(Stream file, Tensor t, bool int64, string name, string path)
    {
        var values = t.ToArray();
        int itemSize = int64 ? 8 : 4;
        var buf = new byte[Math.Min(values.Length, Chunk) * itemSize];
        for (int start = 0; start < values.Length; start += Chunk)
        {
            var src = values.AsSpan(start, Math.Min(Chunk, values.Length - start));
            var dst = buf.AsSpan(0, src.Length * itemSize);
            if (!int64)
            {
                if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(src).CopyTo(dst);
                else for (int i = 0; i < src.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dst[(4 * i)..], src[i]);
            }
            else
            {
                for (int i = 0; i < src.Length; i++)
                {
                    float v = src[i];
                    // 2^63 is exactly representable as a float; anything at or beyond it does not fit a long.
                    if (!float.IsFinite(v) || v != MathF.Round(v) || v >= 9.223372e18f || v < -9.223372e18f)
                        throw new ArgumentException($"safetensors: tensor '{name}' is stored as I64 but holds {v} at index {start + i}, not an int64 value (writing {path})");
                    BinaryPrimitives.WriteInt64LittleEndian(dst[(8 * i)..], (long)v);
                }
            }
            file.Write(dst);
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    /// <summary>
    /// Reads a safetensors file, converting every tensor to float32 on <paramref name="device"/> (default CPU).
    /// Throws <see cref="InvalidDataException"/> naming the file for a malformed header, unknown dtype,
    /// size/shape mismatch, offsets outside the buffer, overlapping or non-contiguous data, duplicate names, or a
    /// path that is a folder, pipe or device; <see cref="FileNotFoundException"/> when nothing is there.
    /// </summary>
    public static SafeTensorsFile Load(string path, Device? device = null)
    {
        using var file = OpenRegularFile(path);
        long fileLength = file.Length;
        if (fileLength < 8) throw Bad(path, $"file has {fileLength} bytes, too short for the 8-byte header length");
        Span<byte> lenBytes = stackalloc byte[8];
        file.ReadExactly(lenBytes);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (n > MaxHeaderBytes) throw Bad(path, $"header length {n} bytes exceeds the {MaxHeaderBytes}-byte limit");
        if ((long)n > fileLength - 8) throw Bad(path, $"header length {n} bytes exceeds the {fileLength - 8} bytes after the length field");
        var headerBytes = new byte[n];
        try { file.ReadExactly(headerBytes); }
        catch (EndOfStreamException e) { throw Bad(path, "file ended inside the header (was it truncated while being read?)", e); }
        long bufferLength = fileLength - 8 - (long)n;

        var (infos, metadata) = ParseHeader(headerBytes, path);
        CheckCoverage(infos, bufferLength, path);

        var tensors = new OrderedDictionary<string, Tensor>();
        var dtypes = new Dictionary<string, string>();
        long dataStart = 8 + (long)n;
        foreach (var info in infos)
        {
            var values = new float[info.Numel];
            file.Position = dataStart + info.Begin;
            ReadConverted(file, info, values, path);
            tensors.Add(info.Name, Tensor.FromArray(values, new Shape(info.Shape), device));
            dtypes.Add(info.Name, info.Dtype);
        }
        return new SafeTensorsFile(tensors, dtypes, metadata);
    }

    /// <summary>
    /// Opens <paramref name="path"/> for reading, refusing what is not a regular file before opening it: a folder
    /// (which FileStream reports as "access denied"), and a pipe or device, where open() can wait for a writer forever.
    /// </summary>
    static FileStream OpenRegularFile(string path)
    {
        IO.RegularFile.Require(path, "safetensors");     // a FIFO would block the open, a device never end
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (UnauthorizedAccessException e) { throw Bad(path, $"cannot be opened for reading: {e.Message}", e); }
    }

    sealed record Info(string Name, string Dtype, int[] Shape, int Numel, long Begin, long End);

    /// <summary>Parses and validates the JSON header; returns entries sorted by data offset.</summary>
    static (List<Info> Infos, Dictionary<string, string> Metadata) ParseHeader(byte[] header, string path)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
            throw Bad(path, "header is not a JSON object (it must start with '{')");
        // JsonDocument validates UTF-8 only when a string is read; check it all up front.
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw Bad(path, "header is not valid UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw Bad(path, $"header is not valid JSON: {e.Message}", e); }

        using (doc)
        {
            var infos = new List<Info>();
            var metadata = new Dictionary<string, string>();
            var names = new HashSet<string>();
            bool sawMetadata = false;
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == MetadataKey)
                {
                    if (sawMetadata) throw Bad(path, $"duplicate '{MetadataKey}'");
                    sawMetadata = true;
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, $"'{MetadataKey}' is not an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"metadata '{m.Name}' is {m.Value.ValueKind}, not a string");
                        if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad(path, $"duplicate metadata key '{m.Name}'");
                    }
                    continue;
                }
                if (!names.Add(prop.Name)) throw Bad(path, $"duplicate tensor name '{prop.Name}'");
                infos.Add(ParseEntry(prop.Name, prop.Value, path));
            }
            // Stable sort keeps header order among zero-size tensors sharing an offset.
            return ([.. infos.OrderBy(i => i.Begin).ThenBy(i => i.End)], metadata);
        }
    }

    static Info ParseEntry(string name, JsonElement e, string path)
    {
        string Where() => $"tensor '{name}'";
        if (e.ValueKind != JsonValueKind.Object) throw Bad(path, $"{Where()}: entry is {e.ValueKind}, not an object");

        if (!e.TryGetProperty("dtype", out var dt)) throw Bad(path, $"{Where()}: missing field 'dtype'");
        if (dt.ValueKind != JsonValueKind.String) throw Bad(path, $"{Where()}: 'dtype' is {dt.ValueKind}, not a string");
        string dtype = dt.GetString()!;
        if (!ItemSizes.TryGetValue(dtype, out int itemSize))
            throw Bad(path, $"{Where()}: unknown dtype '{dtype}' (supported: {string.Join(", ", ItemSizes.Keys)})");

        if (!e.TryGetProperty("shape", out var sh)) throw Bad(path, $"{Where()}: missing field 'shape'");
        if (sh.ValueKind != JsonValueKind.Array) throw Bad(path, $"{Where()}: 'shape' is {sh.ValueKind}, not an array");
        var shape = new int[sh.GetArrayLength()];
        long numel = 1;
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw Bad(path, $"{Where()}: shape {sh.GetRawText()} must hold non-negative integers");
            if (v > int.MaxValue || numel * v > int.MaxValue)
                throw Bad(path, $"{Where()}: shape {sh.GetRawText()} has more than {int.MaxValue} elements");
            shape[k++] = (int)v;
            numel *= v;
        }

        if (!e.TryGetProperty("data_offsets", out var off)) throw Bad(path, $"{Where()}: missing field 'data_offsets'");
        if (off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw Bad(path, $"{Where()}: 'data_offsets' {off.GetRawText()} is not an array [begin, end]");
        if (!off[0].TryGetNonNegative(out long begin) || !off[1].TryGetNonNegative(out long end))
            throw Bad(path, $"{Where()}: 'data_offsets' {off.GetRawText()} must hold non-negative integers");
        if (end < begin) throw Bad(path, $"{Where()}: data_offsets [{begin}, {end}] end before they begin");
        if (end - begin != numel * itemSize)
            throw Bad(path, $"{Where()}: data_offsets [{begin}, {end}] span {end - begin} bytes, but shape {sh.GetRawText()} of {dtype} needs {numel * itemSize}");
        return new Info(name, dtype, shape, (int)numel, begin, end);
    }

    static bool TryGetNonNegative(this JsonElement e, out long v)
    {
        v = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out v) && v >= 0;
    }

    /// <summary>The spec requires the tensors to tile the byte buffer exactly: no holes, no overlap, nothing after.</summary>
    static void CheckCoverage(List<Info> infos, long bufferLength, string path)
    {
        long at = 0;
        Info? prev = null;
        foreach (var i in infos)
        {
            if (i.End > bufferLength)
                throw Bad(path, $"tensor '{i.Name}': data_offsets [{i.Begin}, {i.End}] are out of range of the {bufferLength}-byte data buffer");
            if (i.Begin < at)
                throw Bad(path, $"tensor '{i.Name}': data_offsets [{i.Begin}, {i.End}] overlap tensor '{prev!.Name}' [{prev.Begin}, {prev.End}]");
            if (i.Begin > at)
                throw Bad(path, $"tensor '{i.Name}': data_offsets [{i.Begin}, {i.End}] leave a hole at bytes [{at}, {i.Begin}) of the data buffer");
            at = i.End;
            prev = i;
        }
        if (at != bufferLength)
            throw Bad(path, $"the tensors cover {at} bytes but the data buffer has {bufferLength} (trailing bytes)");
    }

    /// <summary>Streams one tensor's bytes in bounded chunks and converts them to float32.</summary>
    static void ReadConverted(Stream file, Info info, float[] dst, string path)
    {
        int item = ItemSizes[info.Dtype];
        var buf = new byte[(int)Math.Min(info.End - info.Begin, Chunk / item * item)];
        int done = 0;
        while (done < dst.Length)
        {
            int count = Math.Min(dst.Length - done, buf.Length / item);
            var bytes = buf.AsSpan(0, count * item);
            try { file.ReadExactly(bytes); }
            catch (EndOfStreamException e) { throw Bad(path, $"tensor '{info.Name}': file ended inside its data", e); }
            Convert(info.Dtype, bytes, dst.AsSpan(done, count));
            done += count;
        }
    }

    static void Convert(string dtype, ReadOnlySpan<byte> b, Span<float> d)
    {
        switch (dtype)
        {
            case "F32":
                if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(b).CopyTo(d);
                else for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadSingleLittleEndian(b[(4 * i)..]);
                break;
            case "F16": for (int i = 0; i < d.Length; i++) d[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(b[(2 * i)..]); break;
            // bfloat16 is the upper half of a float32's bits.
            case "BF16": for (int i = 0; i < d.Length; i++) d[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b[(2 * i)..]) << 16); break;
            case "F64": for (int i = 0; i < d.Length; i++) d[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(b[(8 * i)..]); break;
            case "I64": for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadInt64LittleEndian(b[(8 * i)..]); break;
            case "I32": for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadInt32LittleEndian(b[(4 * i)..]); break;
            case "I16": for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadInt16LittleEndian(b[(2 * i)..]); break;
            case "I8": for (int i = 0; i < d.Length; i++) d[i] = (sbyte)b[i]; break;
            case "U64": for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadUInt64LittleEndian(b[(8 * i)..]); break;
            case "U32": for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadUInt32LittleEndian(b[(4 * i)..]); break;
            case "U16": for (int i = 0; i < d.Length; i++) d[i] = BinaryPrimitives.ReadUInt16LittleEndian(b[(2 * i)..]); break;
            case "U8": for (int i = 0; i < d.Length; i++) d[i] = b[i]; break;
            case "BOOL": for (int i = 0; i < d.Length; i++) d[i] = b[i] != 0 ? 1f : 0f; break;
            default: throw new InvalidOperationException($"safetensors: no converter for dtype {dtype}");
        }
    }

    static InvalidDataException Bad(string path, string what, Exception? inner = null) =>
        new($"safetensors: {path}: {what}", inner);
}
