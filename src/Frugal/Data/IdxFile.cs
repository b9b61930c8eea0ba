// IDX files (the MNIST / Fashion-MNIST format): read, gzip or raw, with every size checked before it is
// trusted, and written (tests and synthetic data sets use the writer).
// Layout (big-endian): 0x00 0x00, type byte, rank byte, rank x uint32 dimensions, then the row-major data.
using System.Buffers.Binary;
using System.IO.Compression;

namespace Frugal.Data;

/// <summary>The content of an IDX file of unsigned bytes: row-major <see cref="Data"/> of shape <see cref="Dims"/>.</summary>
public sealed record IdxData(int[] Dims, byte[] Data)
{
    /// <summary>Number of items along the first axis (images, labels).</summary>
    public int Count => Dims[0];

    /// <summary>Bytes per item: the product of all dimensions but the first.</summary>
    public int ItemSize => Data.Length / Dims[0];
}

public static class IdxFile
{
    /// <summary>The only element type the trainer reads: unsigned byte (pixels, labels).</summary>
    public const byte UnsignedByte = 0x08;

    /// <summary>Largest data block accepted: what one managed byte[] can hold (just under 2^31).</summary>
    public static readonly long MaxDataBytes = Array.MaxLength;

    const int MaxRank = 4;
    const int Chunk = 1 << 20;

    /// <summary>
    /// Reads an IDX file of unsigned bytes. Gzip is recognised by its magic bytes (1f 8b), not by the
    /// file name. Throws <see cref="InvalidDataException"/> naming the file for anything malformed:
    /// wrong magic, another element type, rank outside 1..4, a zero dimension, truncated or trailing
    /// data, corrupt gzip, bytes after the gzip stream or a second gzip member; and, before opening it, for a
    /// folder, pipe or device at <paramref name="path"/> (<see cref="FileNotFoundException"/> when nothing is there).
    /// </summary>
    public static IdxData Read(string path)
    {
        IO.RegularFile.Require(path, "idx");
        using var file = Open(path);
        Span<byte> magic = stackalloc byte[2];
        int got = ReadUpTo(file, magic, path);
        file.Position = 0;
        bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (!gzip) return Parse(file, path, rawLength: file.Length, gzipLength: null);
        var end = new GzipEnd(file);
        IdxData idx;
        using (var unzip = new GZipStream(end, CompressionMode.Decompress, leaveOpen: true))
            idx = Parse(unzip, path, rawLength: null, gzipLength: file.Length);
        if (end.Problem(4 + 4L * idx.Dims.Length + idx.Data.Length) is string problem)
            throw Bad(path, problem);
        return idx;
    }

    static FileStream Open(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (UnauthorizedAccessException e) { throw Bad(path, "cannot be opened for reading (permission denied); make it readable (chmod a+r)", e); }
    }

    /// <summary>Deflate's best ratio (258-byte matches at 2 bits each), which bounds what a gzip file can hold.</summary>
    const long MaxDeflateRatio = 1032;

    static IdxData Parse(Stream s, string path, long? rawLength, long? gzipLength)
    {
        Span<byte> head = stackalloc byte[4];
        int got = ReadUpTo(s, head, path);
        if (got < 4)
            throw Bad(path, $"file has {got} bytes, too short for the 4-byte IDX header");
        if (head[0] != 0 || head[1] != 0)
            throw Bad(path, $"bad magic {head[0]:x2} {head[1]:x2} (an IDX file starts with 00 00)");
        if (head[2] != UnsignedByte)
            throw Bad(path, $"element type 0x{head[2]:x2} ({TypeName(head[2])}) is not supported; only 0x08 (unsigned byte) is");
        int rank = head[3];
        if (rank < 1 || rank > MaxRank)
            throw Bad(path, $"rank {rank} is outside 1..{MaxRank}");

        Span<byte> dimBytes = stackalloc byte[4 * MaxRank];
        got = ReadUpTo(s, dimBytes[..(4 * rank)], path);
        if (got < 4 * rank)
            throw Bad(path, $"truncated header: {rank} dimensions need {4 * rank} bytes, the file has {got}");

        var dims = new int[rank];
        long size = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.Slice(4 * i, 4));
            if (d == 0) throw Bad(path, $"dimension {i} is 0 in {Dims(dimBytes, rank)}");
            // Multiplying before checking could overflow long with four 2^32 dimensions; check each step.
            if (d > MaxDataBytes || size * d > MaxDataBytes)
                throw Bad(path, $"dimensions {Dims(dimBytes, rank)} declare more than {MaxDataBytes} data bytes");
            dims[i] = (int)d;
            size *= d;
        }

        long header = 4 + 4L * rank;
        if (gzipLength is long gz && header + size > gz * MaxDeflateRatio + 1024)
            throw Bad(path, $"dimensions {Dims(dimBytes, rank)} declare {size} data bytes, more than a {gz}-byte gzip file can hold (deflate compresses at most {MaxDeflateRatio}:1): the file is truncated or its header damaged");
        if (rawLength is long len && len - header != size)
        {
            // A raw file's length is known, so both failures can be reported before allocating anything.
            if (len - header < size)
                throw Bad(path, $"truncated: dimensions {Dims(dimBytes, rank)} need {size} data bytes, found {len - header}");
            throw Bad(path, $"{len - header - size} trailing bytes after the {size} data bytes of dimensions {Dims(dimBytes, rank)}");
        }

        var data = ReadExactly(s, size, path, Dims(dimBytes, rank));
        Span<byte> probe = stackalloc byte[1];
        if (ReadUpTo(s, probe, path) != 0)
            throw Bad(path, $"trailing bytes after the {size} data bytes of dimensions {Dims(dimBytes, rank)}");
        return new IdxData(dims, data);
    }

    /// <summary>
    /// Reads exactly <paramref name="size"/> bytes. The buffer grows with what actually arrives, so a
    /// small (e.g. gzip) file that declares a huge size fails on truncation without a huge allocation.
    /// </summary>
    static byte[] ReadExactly(Stream s, long size, string path, string dims)
    {
        var buf = new byte[Math.Min(size, 64L << 20)];
        long filled = 0;
        while (filled < size)
        {
            if (filled == buf.Length)
            {
                var bigger = new byte[Math.Min(size, 2L * buf.Length)];
                Buffer.BlockCopy(buf, 0, bigger, 0, (int)filled);
                buf = bigger;
            }
            int want = (int)Math.Min(Chunk, buf.Length - filled);
            int n = ReadSome(s, buf.AsSpan((int)filled, want), path);
            if (n == 0)
                throw Bad(path, $"truncated: dimensions {dims} need {size} data bytes, found {filled}{(s is GZipStream ? " after decompression" : "")}");
            filled += n;
        }
        return buf;
    }

    static int ReadUpTo(Stream s, Span<byte> dst, string path)
    {
        int total = 0;
        while (total < dst.Length)
        {
            int n = ReadSome(s, dst[total..], path);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    static int ReadSome(Stream s, Span<byte> dst, string path)
    {
        try { return s.Read(dst); }
        catch (InvalidDataException e) { throw Bad(path, $"corrupt gzip data ({e.Message})", e); }
    }

    /// <summary>
    /// Writes an IDX file of unsigned bytes, gzip-compressed when <paramref name="gzip"/> is set.
    /// Written to a temporary file first, so a failure never leaves a half-written file at <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<int> dims, byte[] data, bool gzip = false)
    {
        if (dims.Length < 1 || dims.Length > MaxRank)
            throw new ArgumentException($"idx: rank {dims.Length} is outside 1..{MaxRank} (writing {path})");
        long size = 1;
        foreach (var d in dims)
        {
            if (d <= 0) throw new ArgumentException($"idx: dimensions [{string.Join(", ", dims.ToArray())}] must be positive (writing {path})");
            size *= d;
        }
        if (size != data.Length)
            throw new ArgumentException($"idx: dimensions [{string.Join(", ", dims.ToArray())}] need {size} bytes, data has {data.Length} (writing {path})");

        Span<byte> header = stackalloc byte[4 + 4 * MaxRank];
        header[0] = 0; header[1] = 0; header[2] = UnsignedByte; header[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(header.Slice(4 + 4 * i, 4), dims[i]);
        header = header[..(4 + 4 * dims.Length)];

        var head = header.ToArray();
        IO.AtomicFile.Write(path, file =>
        {
            if (gzip)
            {
                using var zip = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true);
                zip.Write(head);
                zip.Write(data);
            }
            else
            {
                file.Write(head);
                file.Write(data);
            }
        });
    }

    static string TypeName(byte t) => t switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "unknown type",
    };

    static string Dims(ReadOnlySpan<byte> dimBytes, int rank)
    {
        var parts = new string[rank];
        for (int i = 0; i < rank; i++) parts[i] = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.Slice(4 * i, 4)).ToString();
        return $"[{string.Join(", ", parts)}]";
    }

    static InvalidDataException Bad(string path, string what, Exception? inner = null) =>
        new($"idx: {path}: {what}", inner);
}
