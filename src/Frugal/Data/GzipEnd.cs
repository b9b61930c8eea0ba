// Tells where a gzip file's stream ends, so bytes after it are refused. .NET's GZipStream decompresses
// concatenated members and silently stops at bytes after a member that do not start like a gzip header, and it
// never says how much input it used. This wrapper hands it the file's last bytes one at a time, so when the
// stream ends in that stretch no input is left buffered and the bytes taken are exactly where it ended.
using System.Buffers.Binary;

namespace Frugal.Data;

sealed class GzipEnd(FileStream file) : Stream
{
    /// <summary>Bytes at the end served one per read: more than a gzip trailer (8) plus an empty member (20).</summary>
    const int ByteWiseTail = 4096;

    readonly long _length = file.Length;

    /// <summary>
    /// Null when the gzip stream ended exactly at the end of the file as a single member that decompressed to
    /// <paramref name="decompressed"/> bytes; otherwise what is wrong. Call after the GZipStream returned 0.
    /// </summary>
    public string? Problem(long decompressed)
    {
        long used = file.Position;
        if (used < _length)
            return $"the gzip stream ends at or before byte {used} of {_length}: the rest is trailing data or a second gzip member; recompress it as one stream (gunzip -c | gzip)";
        // A second member, one trailing byte (read while GZipStream looked for a next member), or a cut-off trailer
        // (which GZipStream does not notice) leaves the file's last 4 bytes something other than this stream's
        // length field (ISIZE, the uncompressed length mod 2^32, little-endian).
        Span<byte> isize = stackalloc byte[4];
        file.Seek(-4, SeekOrigin.End);
        file.ReadExactly(isize);
        uint recorded = BinaryPrimitives.ReadUInt32LittleEndian(isize);
        if (recorded != (uint)decompressed)
            return $"the gzip stream does not end where the file does (the last 4 bytes record {recorded} uncompressed bytes, {decompressed} came out): the gzip trailer is cut off, or trailing data or a second gzip member follows; fetch the file again or recompress it as one stream (gunzip -c | gzip)";
        return null;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        long pos = file.Position, bulkEnd = _length - ByteWiseTail;
        int max = pos < bulkEnd ? (int)Math.Min(buffer.Length, bulkEnd - pos) : Math.Min(buffer.Length, 1);
        return file.Read(buffer[..max]);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => file.Position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
