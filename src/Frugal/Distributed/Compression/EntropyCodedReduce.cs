using System.Buffers;
using System.Buffers.Binary;
using Frugal.Methods.Entropy;

namespace Frugal.Distributed.Compression;

/// <summary>
/// --compress entropy, a PROPOSAL: ../shared/METHODS.md §4.1 (Øland &amp; Raj, ICASSP 2015: bits chosen from the RMS of
/// what is sent, entropy-coded) applied to what data-parallel ranks exchange, the gradient bucket. Each rank sends
/// Δ = g + e (e its residual) as q = clip(round(Δ/s), ±2^(b−1)) with b = clip(b₀ + ⌈log₂(RMS(Δ)/RMS_ref)⌉, min, max) and
/// s = 3·RMS(Δ)/2^(b−1), keeps e ← Δ − s·q (error feedback), and rANS-codes q (<see cref="Rans"/>). RMS_ref is the
/// largest RMS(Δ) the bucket has sent so far on that rank (its first step's, until the gradients grow: on a freshly
/// initialised network they do, for some hundred steps), so b is b₀ at the peak and sheds a bit each time what is
/// sent halves ("more bits early, fewer later"): s then stays near 3·RMS_ref/2^(b₀−1), a fixed step whose symbols grow
/// rarer as the gradients shrink, which the coder turns into fewer bytes. The payloads ([s: fp32][rANS block]) are all-gathered, byte counts first, and every
/// rank decodes all of them and adds s_r·q_r in fp32 in rank order, so all hold identical bits.
/// </summary>
/// <remarks>
/// <para>b is each rank's own: it bounds q, and the receivers need only s and the block (which carries its own table).</para>
/// <para>Bytes: a rank sends P = 4 (its count) + 4 (s) + the block (header, table, stream, escapes), and the ring
/// all-gather forwards the others': ≈ (N−1)·P on the wire against 2(N−1)/N·4L for the fp32 all-reduce, a saving of
/// 8L/(N·P), which shrinks as N grows (an all-gather of coded vectors does not sum along the way).</para>
/// <para>A non-finite Δ is sent as s = NaN (q = 0), so the sum turns NaN as the exact exchange's would, and the
/// divergence check stops the run; its residual is dropped. One instance per rank.</para>
/// </remarks>
public sealed class EntropyCodedReduce : IGradientCompressor
{
    sealed class BucketState(int length)
    {
        public readonly int Length = length;
        public float[]? Residual;
        public double RmsRef;
    }

    readonly EntropyCodedReduceOptions _options;
    readonly Dictionary<int, BucketState> _buckets = [];
    readonly CompressionTally _tally = new();
    readonly ArrayBufferWriter<byte> _payload = new();
    int[] _symbols = [], _decoded = [];
    float[] _scratch = [];
    // This epoch's figures: values sent, Σ b·values, Σ H(q)·values, table bytes, the bits chosen per bucket.
    long _values, _tableBytes;
    double _bitsSum, _entropySum;
    readonly SortedDictionary<int, (double Sum, long Count, int Min, int Max)> _bits = [];

    public EntropyCodedReduce(EntropyCodedReduceOptions options) => _options = options.Validate();

    public EntropyCodedReduceOptions Options => _options;

    public string Name => "entropy";

    /// <summary>§4.1's bits for a Δ of RMS <paramref name="rms"/>: clip(b₀ + ⌈log₂(rms/rmsRef)⌉, min, max).</summary>
    public static int Bits(double rms, double rmsRef, EntropyCodedReduceOptions options)
    {
        if (!(rms > 0) || !(rmsRef > 0)) return options.MinBits;
        double b = options.BaseBits + Math.Ceiling(Math.Log2(rms / rmsRef));
        return (int)Math.Clamp(b, options.MinBits, options.MaxBits);
    }

    public void Reduce(GradientBucket bucket, IProcessGroup group)
    {
        var values = bucket.Values;
        if (!_buckets.TryGetValue(bucket.Index, out var state)) _buckets[bucket.Index] = state = new BucketState(values.Length);
        if (state.Length != values.Length)
            throw new ArgumentException($"entropy: bucket {bucket.Index} has {values.Length} values, it had {state.Length}; buckets must keep their layout");
        int n = values.Length;
        if (n == 0) return;
        if (_symbols.Length < n) { _symbols = new int[n]; _decoded = new int[n]; _scratch = new float[n]; }
        var q = _symbols.AsSpan(0, n);
        if (_options.ErrorFeedback)
        {
            state.Residual ??= new float[n];
            System.Numerics.Tensors.TensorPrimitives.Add(values, state.Residual, values);
        }
        double rms = SymbolQuantizer.Rms(values);
        float step;
        int bits = _options.MinBits;
        if (!double.IsFinite(rms)) { step = float.NaN; q.Clear(); state.Residual?.AsSpan().Clear(); }
        else
        {
            state.RmsRef = Math.Max(state.RmsRef, rms);
            bits = Bits(rms, state.RmsRef, _options);
            step = (float)SymbolQuantizer.RmsStep(rms, bits);
            var residual = state.Residual ?? _scratch;
            SymbolQuantizer.Quantize(values, step, SymbolQuantizer.Limit(bits), q, residual.AsSpan(0, n));
        }
        _payload.ResetWrittenCount();
        BinaryPrimitives.WriteSingleLittleEndian(_payload.GetSpan(4), step);
        _payload.Advance(4);
        var size = Rans.Encode(q, _payload, _options.ScaleBits, 2 * SymbolQuantizer.Limit(_options.MaxBits) + 1);
        Count(bucket.Index, n, bits, q, size);
        _tally.Measure(group, n, () => Exchange(values, _symbols, group));
    }

    /// <summary>All-gathers the payloads (counts first) and overwrites <paramref name="values"/> with Σ_r s_r·q_r in fp32,
    /// rank by rank (this rank's own q is used as is: the block decodes to it exactly); returns the bytes this rank sent.</summary>
    long Exchange(float[] values, int[] own, IProcessGroup group)
    {
        Array.Clear(values);
        return PayloadGather.AllGather(group, _payload.WrittenSpan, (r, block) =>
        {
            float s = BinaryPrimitives.ReadSingleLittleEndian(block);
            ReadOnlySpan<int> q = own;
            if (r != group.Rank) { Rans.Decode(block[4..], _decoded.AsSpan(0, values.Length)); q = _decoded; }
            for (int i = 0; i < values.Length; i++) values[i] += s * q[i];
        });
    }

    void Count(int bucket, int n, int bits, ReadOnlySpan<int> q, RansSize size)
    {
        _values += n;
        _bitsSum += (double)bits * n;
        _entropySum += EmpiricalEntropy.Bits(q) * n;
        _tableBytes += size.TableBytes;
        var (sum, count, min, max) = _bits.TryGetValue(bucket, out var b) ? b : (0, 0, int.MaxValue, int.MinValue);
        _bits[bucket] = (sum + bits, count + 1, Math.Min(min, bits), Math.Max(max, bits));
    }

    /// <summary>
    /// The byte figures of <see cref="CompressionTally"/>; entropy_coded_bits_per_element (8·payload/L: everything a
    /// rank sends, per gradient value), entropy_table_bits_per_element (the headers and tables within it),
    /// entropy_q_entropy_bits (H(q), what an ideal coder of q would need), entropy_bits_mean / _min / _max (the b
    /// chosen, over buckets and steps) and entropy_bits_per_bucket (each bucket's mean b, by index).
    /// </summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        if (_values == 0) return;
        var tally = new Dictionary<string, object>();
        _tally.Collect(tally);
        foreach (var (k, v) in tally) figures[k] = v;
        long payload = (long)tally["compress_payload_bytes"];
        figures["entropy_coded_bits_per_element"] = Math.Round(8.0 * payload / _values, 4);
        figures["entropy_table_bits_per_element"] = Math.Round(8.0 * _tableBytes / _values, 4);
        figures["entropy_q_entropy_bits"] = Math.Round(_entropySum / _values, 4);
        figures["entropy_bits_mean"] = Math.Round(_bitsSum / _values, 4);
        figures["entropy_bits_min"] = _bits.Values.Min(b => b.Min);
        figures["entropy_bits_max"] = _bits.Values.Max(b => b.Max);
        figures["entropy_bits_per_bucket"] = _bits.ToDictionary(b => b.Key.ToString(System.Globalization.CultureInfo.InvariantCulture),
            b => (object)Math.Round(b.Value.Sum / b.Value.Count, 3));
        _values = _tableBytes = 0;
        _bitsSum = _entropySum = 0;
        _bits.Clear();
    }
}
