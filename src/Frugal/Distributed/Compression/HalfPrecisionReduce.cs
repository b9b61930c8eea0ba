using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Frugal.Distributed.Compression;

/// <summary>
/// --compress fp16: the gradient crosses the wire as IEEE binary16 and is summed in fp32 (<see cref="ChunkedExchange"/>:
/// all-to-all of half chunks, fp32 sum by each chunk's owner, all-gather of the halves), because MPI has no fp16 sum
/// and summing in half would add N roundings at the sum's magnitude. Each value is rounded to nearest even twice, once
/// as a rank's contribution and once as part of the sum: relative error ≤ 2^−11 per rounding for normal halves.
/// Payload 2 bytes per value (half of fp32). No scale: the contributions arrive pre-divided by N (PyTorch DDP's fp16
/// hook does the same), so the risk is underflow, below 2^−24 ≈ 6·10^−8 a value is lost (e5m10 in
/// <see cref="LowBitReduce"/> scales per piece instead, at 4 bytes a piece). Finite values beyond ±65504 saturate
/// there rather than become infinite, as the low-bit formats do (see FloatRounding); NaN and ±inf stay visible.
/// </summary>
public sealed class HalfPrecisionReduce : IGradientCompressor
{
    readonly CompressionTally _tally = new();

    public string Name => "fp16";

    public void Reduce(GradientBucket bucket, IProcessGroup group)
    {
        if (bucket.Values.Length == 0) return;
        _tally.Measure(group, bucket.Values.Length, () => ChunkedExchange.Reduce(bucket.Values, HalfCodec.Instance, group, 0, 0));
    }

    /// <summary>compress_payload_bytes, compress_ratio and the wire figures of <see cref="CompressionTally"/>.</summary>
    public void CollectEpochFigures(IDictionary<string, object> figures) => _tally.Collect(figures);

    sealed class HalfCodec : IChunkCodec
    {
        public static readonly HalfCodec Instance = new();
        static readonly float Max = (float)Half.MaxValue;

        public int EncodedBytes(int start, int length) => 2 * length;

        public void Encode(ReadOnlySpan<float> values, int start, Span<byte> code, ulong seed)
        {
            var halves = MemoryMarshal.Cast<byte, Half>(code);
            TensorPrimitives.ConvertToHalf(values, halves);
            if (values.IsEmpty || !(MathF.Abs(TensorPrimitives.MaxMagnitude(values)) > Max)) return;
            for (int i = 0; i < values.Length; i++)
                if (float.IsFinite(values[i]) && MathF.Abs(values[i]) > Max) halves[i] = values[i] > 0 ? Half.MaxValue : Half.MinValue;
        }

        public void Decode(ReadOnlySpan<byte> code, int start, Span<float> values) =>
            TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(code), values);
    }
}
