using System.Buffers.Binary;

namespace Frugal.Distributed.Compression;

/// <summary>
/// One rank's stochastically pruned gradient as bytes (<see cref="SparsePruneReduce"/>): first the threshold α of every
/// segment (fp32 little-endian, segment order), then the survivors in increasing bucket index, each a LEB128 varint of
/// 3·gap + tag (gap = index − previous survivor's index − 1, the first counted from index −1); tag 0 is followed by the
/// survivor's fp32 value (it was ≥ α), tags 1 and 2 stand for +α and −α of the index's segment (a value below α that
/// survived), so they cost no value bytes. At 90% sparsity the gaps average 9: one byte per index.
/// Bytes: 4·S + Σ_survivors (varint bytes + 4·[kept as is]).
/// </summary>
internal sealed class SparsePayload
{
    byte[] _bytes = new byte[256];
    int _length, _previous;

    public ReadOnlySpan<byte> Bytes => _bytes.AsSpan(0, _length);

    /// <summary>Starts a payload for <paramref name="segments"/> segments (their α written by <see cref="SetAlpha"/>).</summary>
    public void Begin(int segments)
    {
        _length = 4 * segments;
        _previous = -1;
        Reserve(0);
    }

    public void SetAlpha(int segment, float alpha) => BinaryPrimitives.WriteSingleLittleEndian(_bytes.AsSpan(4 * segment, 4), alpha);

    /// <summary>A survivor that keeps its value.</summary>
    public void Kept(int index, float value)
    {
        Reserve(9);
        Tag(index, 0);
        BinaryPrimitives.WriteSingleLittleEndian(_bytes.AsSpan(_length, 4), value);
        _length += 4;
    }

    /// <summary>A survivor rounded up to α·sign.</summary>
    public void Rounded(int index, bool negative)
    {
        Reserve(5);
        Tag(index, negative ? 2u : 1u);
    }

    void Tag(int index, uint tag)
    {
        ulong v = 3UL * (uint)(index - _previous - 1) + tag;
        _previous = index;
        while (v >= 0x80) { _bytes[_length++] = (byte)(v | 0x80); v >>= 7; }
        _bytes[_length++] = (byte)v;
    }

    void Reserve(int more)
    {
        if (_length + more > _bytes.Length) Array.Resize(ref _bytes, Math.Max(2 * _bytes.Length, _length + more));
    }

    /// <summary>Adds the gradient <paramref name="payload"/> encodes to <paramref name="sums"/> (the bucket, whose
    /// segments start at <paramref name="offsets"/> in ascending order).</summary>
    public static void AddTo(ReadOnlySpan<byte> payload, ReadOnlySpan<int> offsets, Span<float> sums)
    {
        int segments = offsets.Length, position = 4 * segments, index = -1, segment = 0;
        if (payload.Length < position) throw new DistributedException($"prune: a payload of {payload.Length} bytes lacks the thresholds of {segments} segments");
        while (position < payload.Length)
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = payload[position++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            index += (int)(v / 3) + 1;
            uint tag = (uint)(v % 3);
            if (tag == 0)
            {
                sums[index] += BinaryPrimitives.ReadSingleLittleEndian(payload.Slice(position, 4));
                position += 4;
                continue;
            }
            while (segment + 1 < segments && offsets[segment + 1] <= index) segment++;
            float alpha = BinaryPrimitives.ReadSingleLittleEndian(payload.Slice(4 * segment, 4));
            sums[index] += tag == 1 ? alpha : -alpha;
        }
    }
}
