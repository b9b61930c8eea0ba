using System.Buffers;
using System.Numerics.Tensors;

namespace Frugal.Distributed.Compression;

/// <summary>Turns a range of a bucket into bytes and back. A range is given by its offset in the bucket, so a codec
/// can cut it at the bucket's segments and draw element i's random bits from index start + i.</summary>
internal interface IChunkCodec
{
    /// <summary>The encoded size of the bucket's [start, start + length) (0 for an empty range).</summary>
    int EncodedBytes(int start, int length);
    /// <summary>Writes the encoding of <paramref name="values"/>, the bucket's [start, start + values.Length), into
    /// <paramref name="code"/> (exactly <see cref="EncodedBytes"/> long); <paramref name="seed"/> drives stochastic rounding.</summary>
    void Encode(ReadOnlySpan<float> values, int start, Span<byte> code, ulong seed);
    /// <summary>Overwrites <paramref name="values"/> with the decoded range.</summary>
    void Decode(ReadOnlySpan<byte> code, int start, Span<float> values);
}

/// <summary>A bucket of <paramref name="Length"/> values cut into <paramref name="Ranks"/> contiguous chunks whose
/// lengths differ by at most one (the first Length mod Ranks are the longer ones); rank r sums chunk r.</summary>
internal readonly record struct Chunks(int Length, int Ranks)
{
    public int Start(int r) => r * (Length / Ranks) + Math.Min(r, Length % Ranks);
    public int Count(int r) => Length / Ranks + (r < Length % Ranks ? 1 : 0);
}

/// <summary>
/// The all-reduce of a format MPI cannot sum (DESIGN.md: low-bit payloads are reduced in fp32, never summed in low
/// precision), as a reduce-scatter followed by an all-gather: round 1 is an all-to-all(v) of encoded chunks, chunk r
/// going to rank r, which decodes the N encodings of its chunk and sums them in fp32 in rank order; round 2 encodes
/// that sum once, by its owner, and all-gathers the encoded sums, which every rank decodes from the same bytes, so all
/// hold identical bits. With B encoded bytes per copy of the bucket each rank sends 2·(B − b_own) ≈ 2(N−1)/N·B, the
/// ring all-reduce's volume at the encoded size: the wire ratio against fp32 is B/(4L).
/// </summary>
internal static class ChunkedExchange
{
    /// <summary>
    /// <paramref name="values"/> holds this rank's contribution on entry and the decoded sum on return; returns B.
    /// Error feedback (optional, spans empty otherwise): <paramref name="firstError"/> (the bucket's length) is added to
    /// the contribution before round 1 and replaced by that round's residual, input − decode(encode(input));
    /// <paramref name="secondError"/> (this rank's chunk) likewise for the sum this rank encodes in round 2.
    /// </summary>
    public static int Reduce(Span<float> values, IChunkCodec codec, IProcessGroup group, ulong firstSeed, ulong secondSeed,
                             Span<float> firstError = default, Span<float> secondError = default)
    {
        int n = group.Size, rank = group.Rank;
        var chunks = new Chunks(values.Length, n);
        var counts = new int[n];
        var offsets = new int[n];
        int total = 0;
        for (int r = 0; r < n; r++)
        {
            counts[r] = codec.EncodedBytes(chunks.Start(r), chunks.Count(r));
            offsets[r] = total;
            total += counts[r];
        }
        int mine = counts[rank], myStart = chunks.Start(rank), myCount = chunks.Count(rank);
        var bytes = ArrayPool<byte>.Shared;
        byte[] send = bytes.Rent(total), receive = bytes.Rent(n * mine), gathered = bytes.Rent(total);
        float[] partial = ArrayPool<float>.Shared.Rent(myCount);
        try
        {
            if (!firstError.IsEmpty) TensorPrimitives.Add(values, firstError, values);
            for (int r = 0; r < n; r++)
                codec.Encode(values.Slice(chunks.Start(r), chunks.Count(r)), chunks.Start(r), send.AsSpan(offsets[r], counts[r]), firstSeed);
            if (!firstError.IsEmpty)
            {
                for (int r = 0; r < n; r++)
                    codec.Decode(send.AsSpan(offsets[r], counts[r]), chunks.Start(r), firstError.Slice(chunks.Start(r), chunks.Count(r)));
                TensorPrimitives.Subtract(values, firstError, firstError);
            }
            group.AllToAllV<byte>(send.AsSpan(0, total), counts, receive.AsSpan(0, n * mine), Enumerable.Repeat(mine, n).ToArray());

            // This rank's chunk of the input is no longer needed: the sum goes there.
            var sum = values.Slice(myStart, myCount);
            var term = partial.AsSpan(0, myCount);
            codec.Decode(receive.AsSpan(0, mine), myStart, sum);
            for (int k = 1; k < n; k++)
            {
                codec.Decode(receive.AsSpan(k * mine, mine), myStart, term);
                TensorPrimitives.Add(sum, term, sum);
            }
            if (!secondError.IsEmpty) TensorPrimitives.Add(sum, secondError, sum);
            codec.Encode(sum, myStart, send.AsSpan(0, mine), secondSeed);
            if (!secondError.IsEmpty)
            {
                codec.Decode(send.AsSpan(0, mine), myStart, secondError);
                TensorPrimitives.Subtract(sum, secondError, secondError);
            }
            group.AllGatherV<byte>(send.AsSpan(0, mine), gathered.AsSpan(0, total), counts);
            for (int r = 0; r < n; r++)
                codec.Decode(gathered.AsSpan(offsets[r], counts[r]), chunks.Start(r), values.Slice(chunks.Start(r), chunks.Count(r)));
            return total;
        }
        finally
        {
            bytes.Return(send); bytes.Return(receive); bytes.Return(gathered);
            ArrayPool<float>.Shared.Return(partial);
        }
    }
}
