using Frugal.Backends;
using Frugal.Methods.Compression;

namespace Frugal.Distributed.Compression;

/// <summary>
/// --compress fp8 / fp6 / fp4 / any [1, E, M] format (METHODS.md §1's low-bit floating point, Chmiel et al., ICLR 2021,
/// applied to the weight-gradient exchange): each value crosses the wire as an n-bit code with a power-of-two scale per
/// piece (<see cref="LowBitCodec"/>), and is summed in fp32, never in low precision (<see cref="ChunkedExchange"/>:
/// all-to-all of encoded chunks, fp32 sum by each chunk's owner, one encoding of the sum, all-gather). Payload per
/// bucket: ⌈L·n/8⌉ + 4·(segments + N − 1) bytes at most, n/32 of fp32 plus the scales (fp8 ≈ 1/4, fp6 ≈ 3/16).
/// </summary>
/// <remarks>
/// <para>Rounding is nearest even or stochastic in both rounds: the second round is encoded once, by the owner of the
/// chunk, and every rank decodes those bytes, so stochastic rounding there costs no agreement and keeps the whole
/// estimator unbiased (E[Q₂(Σ Q₁(g_r))] = Σ g_r, as no value clips).</para>
/// <para>Per-bucket format for fpN: on a bucket's first reduce, and again after each <see cref="CollectEpochFigures"/>
/// (METHODS.md's per-epoch re-estimation), the ranks all-reduce the sums of log2|g| and its square over a strided
/// sample of their gradients (three doubles), so every rank resolves the same exponent bits from the pooled σ₂ by
/// the reference table (<see cref="GradientFormatSpec.Resolve"/>).</para>
/// <para>Error feedback (Seide et al. 2014; Karimireddy et al. 2019): each rank keeps, per bucket, the residual of
/// its own encoding of the gradient plus the previous residual, e ← (g + e) − decode(encode(g + e)), and the owner of
/// each chunk keeps the same residual of its encoding of the sum; without the second the sum's rounding would repeat
/// every step and the accumulated error would still grow linearly.</para>
/// <para>Random bits: a rank's first-round encoding uses the seed (seed, rank·2³² + bucket, 2·step), its second-round
/// encoding (seed, rank·2³² + bucket, 2·step + 1), step counting the bucket's reduces: a rerun with the same seed gives
/// the same bits. One instance per rank.</para>
/// </remarks>
public sealed class LowBitReduce : IGradientCompressor
{
    /// <summary>Values per rank that estimate σ₂ for an fpN format (σ₂'s standard error ≈ σ₂/√(2·16384·N)).</summary>
    public const int FormatSampleSize = 1 << 14;

    sealed class BucketState(int length)
    {
        public readonly int Length = length;
        public LowBitCodec? Codec;
        public float[]? FirstError, SecondError;
        public long Steps;
    }

    readonly LowBitReduceOptions _options;
    readonly GradientFormatSpec _spec;
    readonly ulong _seed;
    readonly Dictionary<int, BucketState> _buckets = [];
    readonly CompressionTally _tally = new();

    /// <param name="options">Format, rounding, error feedback.</param>
    /// <param name="seed">Seeds stochastic rounding (mixed with rank, bucket and step).</param>
    public LowBitReduce(LowBitReduceOptions options, ulong seed = 0)
    {
        _options = options.Validate();
        _spec = options.Spec;
        _seed = seed;
    }

    public LowBitReduceOptions Options => _options;

    /// <summary>The --compress name: the format as written (fp8, fp6, e4m3fn…).</summary>
    public string Name => _spec.ToString();

    /// <summary>The format bucket <paramref name="index"/> is encoded in, once resolved (null before its first reduce).</summary>
    public FloatFormat? FormatOf(int index) => _buckets.TryGetValue(index, out var s) ? s.Codec?.Format : null;

    public void Reduce(GradientBucket bucket, IProcessGroup group)
    {
        var values = bucket.Values;
        if (!_buckets.TryGetValue(bucket.Index, out var state)) _buckets[bucket.Index] = state = new BucketState(values.Length);
        if (state.Length != values.Length)
            throw new ArgumentException($"{Name}: bucket {bucket.Index} has {values.Length} values, it had {state.Length}; buckets must keep their layout");
        if (values.Length == 0) return;
        var codec = state.Codec;
        if (codec is null)
        {
            codec = Resolve(bucket, group, out bool final);
            if (final) state.Codec = codec;
        }
        if (_options.ErrorFeedback && state.FirstError is null)
        {
            state.FirstError = new float[values.Length];
            state.SecondError = new float[new Chunks(values.Length, group.Size).Count(group.Rank)];
        }
        long stream = ((long)group.Rank << 32) | (uint)bucket.Index, step = state.Steps++;
        _tally.Measure(group, values.Length, () => ChunkedExchange.Reduce(values, codec, group,
            CounterRandom.Combine(_seed, stream, 2 * step), CounterRandom.Combine(_seed, stream, 2 * step + 1),
            state.FirstError, state.SecondError));
    }

    /// <summary>The codec of the bucket's format: the fixed one, or fpN resolved from the pooled σ₂ of all ranks. The
    /// moments are summed as integers (log2|g| in units of 2^−20), so the sum is exact in any order and every rank
    /// computes the same σ₂ bit for bit, whatever reduction order the MPI library uses: ranks that disagreed on the
    /// format would decode each other's codes wrongly. A sample of zeros on every rank gives the widest-range format
    /// as a provisional choice (<paramref name="final"/> false), resolved again on the next reduce.</summary>
    LowBitCodec Resolve(GradientBucket bucket, IProcessGroup group, out bool final)
    {
        final = true;
        if (_spec.Fixed is { } format) return new LowBitCodec(format, _options.Rounding, bucket);
        const double unit = 1 << 20;
        var values = bucket.Values;
        var sums = new long[3];                        // count, Σ log2|g|, Σ (log2|g|)², the logs in units of 2^−20
        int stride = Math.Max(1, values.Length / FormatSampleSize);
        for (int i = 0; i < values.Length; i += stride)
        {
            float v = values[i];
            if (v == 0 || !float.IsFinite(v)) continue;
            long l = (long)Math.Round(Math.Log2(Math.Abs(v)) * unit);
            sums[0]++; sums[1] += l; sums[2] += l * l >> 20;
        }
        group.AllReduce<long>(sums, ReduceOp.Sum);
        final = sums[0] > 0;
        if (!final) return new LowBitCodec(_spec.Resolve(double.MaxValue), _options.Rounding, bucket);
        double mean = sums[1] / unit / sums[0];
        double sigma2 = Math.Sqrt(Math.Max(0, sums[2] / unit / sums[0] - mean * mean));
        return new LowBitCodec(_spec.Resolve(sigma2), _options.Rounding, bucket);
    }

    /// <summary>compress_payload_bytes, compress_ratio and the wire figures (<see cref="CompressionTally"/>);
    /// compress_formats: the format of each bucket by index. Per-layer formats are chosen afresh next epoch.</summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        _tally.Collect(figures);
        var formats = _buckets.Where(b => b.Value.Codec != null).OrderBy(b => b.Key)
            .ToDictionary(b => b.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), b => (object)b.Value.Codec!.Format.ToString());
        if (formats.Count > 0) figures["compress_formats"] = formats;
        if (_spec.IsPerLayer) foreach (var s in _buckets.Values) s.Codec = null;
    }
}
