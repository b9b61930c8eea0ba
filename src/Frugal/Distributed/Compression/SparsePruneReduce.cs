using System.Buffers;
using Frugal.Backends;
using Frugal.Methods.Compression;

namespace Frugal.Distributed.Compression;

/// <summary>
/// --compress prune, a PROPOSAL: METHODS.md §1's unbiased stochastic pruning (Chmiel et al., ICLR 2021, §4) applied to
/// each rank's weight gradient, which then travels as a sparse payload. Per parameter (segment): fit ln|g| of the
/// non-zeros (μ, σ, zero fraction z; <see cref="GradientStatistics"/>), take the threshold α whose expected sparsity
/// is the target (<see cref="LogNormal.ThresholdForSparsity"/>, or <see cref="EmpiricalThreshold"/>), and prune:
/// |g| ≥ α is kept, |g| &lt; α becomes α·sign(g) with probability |g|/α, else 0, so E[T(g)] = g. The payloads
/// (<see cref="SparsePayload"/>) are all-gathered (their byte counts first) and every rank adds all of them in rank
/// order in fp32, so all hold identical bits. Mode deterministic (a hard threshold at exp(μ + σΦ⁻¹(s')), biased) is
/// the baseline and, with the empirical threshold, the one that takes error feedback
/// (<see cref="SparsePruneReduceOptions.ErrorFeedback"/> says why).
/// </summary>
/// <remarks>
/// <para>Why a proposal: the lognormal law is established for neural gradients (gradients w.r.t. activations), not for
/// weight gradients, which sum such products over a batch. The fit's Kolmogorov–Smirnov statistic per parameter is
/// reported every epoch (prune_layers.NAME.ks, beside ks_gauss and ks_laplace); a large one means the realised
/// sparsity (prune_layers.NAME.sparsity) misses the target by up to about that much, while unbiasedness holds for any α.</para>
/// <para>Bytes: each rank sends P = 4·S + Σ_survivors (index varint + 4 if kept as is) and the ring all-gather forwards
/// the others' payloads, so a rank puts ≈ (N−1)·P on the wire against 2(N−1)/N·4L for the fp32 all-reduce: the
/// saving is 8L/(N·P) and shrinks as N grows (an all-gather of sparse vectors does not sum along the way).</para>
/// <para>Random bits: the pruning of bucket b at step t on rank r uses the seed (seed, r·2³² + b, 2t), the fit's
/// subsample (seed, r·2³² + b, 2t + 1) mixed with the segment. One instance per rank.</para>
/// </remarks>
public sealed class SparsePruneReduce : IGradientCompressor
{
    /// <summary>One parameter's figures, by its name (suffixed @bucket.segment if the name is taken).</summary>
    sealed class Layer(string name)
    {
        public readonly string Name = name;
        public LayerFigures Figures = new();
    }

    sealed class BucketState(GradientBucket bucket, Layer[] layers)
    {
        public readonly int Length = bucket.Values.Length;
        public readonly int[] Offsets = bucket.Segments.Select(s => s.Offset).ToArray();
        public readonly Layer[] Layers = layers;
        public float[]? Error;
        public long Steps;
    }

    readonly SparsePruneReduceOptions _options;
    readonly ulong _seed;
    readonly Dictionary<int, BucketState> _buckets = [];
    readonly List<Layer> _layers = [];
    readonly SparsePayload _payload = new();
    readonly CompressionTally _tally = new();

    /// <param name="options">Target sparsity, threshold rule, error feedback, fit settings.</param>
    /// <param name="seed">Seeds the pruning and the fit's subsample (mixed with rank, bucket and step).</param>
    public SparsePruneReduce(SparsePruneReduceOptions options, ulong seed = 0)
    {
        _options = options.Validate();
        _seed = seed;
    }

    public SparsePruneReduceOptions Options => _options;

    public string Name => "prune";

    public void Reduce(GradientBucket bucket, IProcessGroup group)
    {
        var state = State(bucket);
        var values = bucket.Values;
        if (values.Length == 0) return;
        if (_options.ErrorFeedback)
        {
            state.Error ??= new float[values.Length];
            System.Numerics.Tensors.TensorPrimitives.Add(values, state.Error, values);
        }
        long stream = ((long)group.Rank << 32) | (uint)bucket.Index, step = state.Steps++;
        uint key = CounterRandom.Key(CounterRandom.Combine(_seed, stream, 2 * step));
        ulong fitSeed = CounterRandom.Combine(_seed, stream, 2 * step + 1);
        _payload.Begin(bucket.Segments.Count);
        for (int s = 0; s < bucket.Segments.Count; s++)
        {
            var segment = bucket.Segments[s];
            var g = bucket.Of(segment);
            var figures = state.Layers[s].Figures;
            var fit = Fit(g, figures, CounterRandom.Combine(fitSeed, s, 0), out var alpha);
            _payload.SetAlpha(s, alpha);
            var error = state.Error is null ? default : state.Error.AsSpan(segment.Offset, segment.Numel);
            Prune(g, segment.Offset, alpha, key, error, figures, fit);
        }
        _tally.Measure(group, values.Length, () => Exchange(values, state.Offsets, group));
    }

    BucketState State(GradientBucket bucket)
    {
        if (_buckets.TryGetValue(bucket.Index, out var state))
        {
            if (state.Length != bucket.Values.Length || state.Offsets.Length != bucket.Segments.Count)
                throw new ArgumentException($"prune: bucket {bucket.Index} has {bucket.Values.Length} values in {bucket.Segments.Count} segments, it had {state.Length} in {state.Offsets.Length}; buckets must keep their layout");
            return state;
        }
        var layers = new Layer[bucket.Segments.Count];
        var taken = _layers.Select(l => l.Name).ToHashSet();
        for (int s = 0; s < layers.Length; s++)
        {
            string name = bucket.Segments[s].Name;
            if (!taken.Add(name)) taken.Add(name = $"{name}@{bucket.Index}.{s}");
            _layers.Add(layers[s] = new Layer(name));
        }
        return _buckets[bucket.Index] = new BucketState(bucket, layers);
    }

    /// <summary>Fits the segment's gradient (on a stratified sample when it is larger than fit_sample_size) and sets its
    /// threshold; an unusable fit (fewer than two distinct non-zero magnitudes) gives α = 0: nothing pruned.</summary>
    GradientFit Fit(ReadOnlySpan<float> g, LayerFigures figures, ulong seed, out float alpha)
    {
        int size = _options.FitSampleSize;
        float[]? rented = null;
        try
        {
            var sample = g;
            if (g.Length > size)
            {
                rented = ArrayPool<float>.Shared.Rent(size);
                var indices = GradientStatistics.StratifiedIndices(g.Length, size, seed);
                for (int j = 0; j < size; j++) rented[j] = g[indices[j]];
                sample = rented.AsSpan(0, size);
            }
            var fit = GradientStatistics.FitSample(sample, figures.Fits % _options.KsInterval == 0);
            figures.AddFit(fit);
            bool usable = fit.Sigma > 0 && double.IsFinite(fit.Sigma) && double.IsFinite(fit.Mu);
            double s = _options.Sparsity;
            bool empirical = _options.Threshold == GradPruneThreshold.Empirical;
            double a = _options.Mode switch
            {
                GradPruneMode.Stochastic when empirical => EmpiricalThreshold.Stochastic(sample, s),
                GradPruneMode.Deterministic when empirical => EmpiricalThreshold.Deterministic(sample, s),
                _ when !usable => 0,
                GradPruneMode.Stochastic => LogNormal.ThresholdForSparsity(s, fit.Mu, fit.Sigma, fit.ZeroFraction),
                _ => LogNormal.DeterministicThreshold(s, fit.Mu, fit.Sigma, fit.ZeroFraction),
            };
            alpha = (float)Math.Min(a, float.MaxValue);
            return fit;
        }
        finally { if (rented != null) ArrayPool<float>.Shared.Return(rented); }
    }

    /// <summary>Prunes one segment into the payload by the rule of <see cref="IBackend.Prune"/>: |g| ≥ α (and NaN) kept;
    /// below α, stochastic mode keeps α·sign when u·α &lt; |g|, u from <see cref="CounterRandom.Uniform"/>(key, bucket
    /// index), deterministic mode drops it; with error feedback the residual g − T(g) goes to <paramref name="error"/>.</summary>
    void Prune(ReadOnlySpan<float> g, int offset, float alpha, uint key, Span<float> error, LayerFigures figures, GradientFit fit)
    {
        long zeros = 0;
        double xy = 0, xx = 0, yy = 0;
        bool feedback = !error.IsEmpty, stochastic = _options.Mode == GradPruneMode.Stochastic;
        for (int i = 0; i < g.Length; i++)
        {
            float x = g[i], a = MathF.Abs(x), y;
            if (x == 0) y = 0;
            else if (!(a < alpha)) { y = x; _payload.Kept(offset + i, x); }
            else if (stochastic && CounterRandom.Uniform(key, (uint)(offset + i)) * alpha < a) { y = x < 0 ? -alpha : alpha; _payload.Rounded(offset + i, x < 0); }
            else y = 0;
            if (y == 0) zeros++;
            if (feedback) error[i] = x - y;
            xy += (double)x * y; xx += (double)x * x; yy += (double)y * y;
        }
        double cosMeasured = xx == 0 ? 1 : xy / Math.Sqrt(xx * yy);
        double cosPred = 1, cosPredTruncated = 1;
        if (alpha > 0 && fit.Sigma > 0)
        {
            double normalized = alpha * Math.Exp(-fit.Mu);
            cosPred = stochastic ? LogNormal.Cosine(normalized, fit.Sigma) : LogNormal.DeterministicCosine(normalized, fit.Sigma);
            cosPredTruncated = stochastic ? LogNormal.TruncatedCosine(normalized, fit.Sigma, fit.TailK) : LogNormal.DeterministicCosine(normalized, fit.Sigma, fit.TailK);
        }
        figures.AddPrune(_options.Sparsity, cosPred, cosPredTruncated, cosMeasured, zeros, g.Length);
    }

    /// <summary>All-gathers the payloads (counts first) and overwrites <paramref name="values"/> with their sum, rank
    /// by rank; returns the bytes this rank sent (its count and its payload).</summary>
    long Exchange(float[] values, int[] offsets, IProcessGroup group)
    {
        Array.Clear(values);
        return PayloadGather.AllGather(group, _payload.Bytes, (_, block) => SparsePayload.AddTo(block, offsets, values));
    }

    /// <summary>
    /// prune_sparsity: zeros / elements of this rank's pruned gradients over the epoch; prune_layers: per parameter
    /// the target, achieved sparsity, μ and σ of ln|g|, predicted (plain and truncated) and measured cosine between
    /// pruned and dense gradient, and the KS statistics of the lognormal fit (ks) and, for contrast, of Gaussian
    /// (ks_gauss) and Laplace (ks_laplace) fits; and the byte figures of <see cref="CompressionTally"/>.
    /// </summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        _tally.Collect(figures);
        long zeros = _layers.Sum(l => l.Figures.Zeros), elements = _layers.Sum(l => l.Figures.Elements);
        if (elements == 0) return;
        figures["prune_sparsity"] = (double)zeros / elements;
        figures["prune_layers"] = _layers.Where(l => l.Figures.Elements > 0).ToDictionary(l => l.Name, l => (object)l.Figures.ToFigures());
        foreach (var l in _layers) l.Figures = new LayerFigures();
    }
}
