using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Distributed.Compression;

/// <summary>
/// --compress topk-crs: the all-reduce-compatible Top-k CRS exchange (Adelman et al., NeurIPS 2021, arXiv 1805.08079;
/// METHODS.md §2, Distributed Top-k CRS). Each sampled layer keeps the k = min(n, max(min_k, ⌊keep·n⌋)) input
/// channels/features S with the largest weight norms ‖W[:,c]‖_F. The weights are identical on every rank, so every rank
/// picks the same sorted S without communicating; only grad[:,S] of the sampled layers and the other gradients whole
/// travel, in one flat fp32 all-reduce, and the gradient outside S comes back zero. Payload per sampled layer
/// rows·k·inner floats instead of rows·n·inner, so the bucket shrinks by about (share of sampled parameters)·(1 − keep).
/// Lossless when forward sampling is Top-k by the same weight norms on the same layers
/// (<see cref="ApproxScore.Weights"/>): that gradient is already zero outside S. Otherwise it is a biased, memoryless
/// sparsifier; channels never in S get no update and their norms cannot grow back, so the turnover of S is reported.
/// </summary>
public sealed class TopKCrsReduce : IGradientCompressor
{
    readonly TopKCrsReduceOptions _options;
    readonly Module _model;
    readonly Dictionary<int, BucketPlan> _plans = [];
    readonly Dictionary<string, LayerTrack> _tracks = [];
    readonly CompressionTally _tally = new();
    float[] _packed = [];

    /// <param name="options">Keep ratio, min_k, layers, hash-check period.</param>
    /// <param name="model">The model whose gradients the buckets carry: it names the layers and tells conv from linear.</param>
    public TopKCrsReduce(TopKCrsReduceOptions options, Module model)
    {
        _options = options.Validate();
        _model = model;
        // Names are checked now; the weights are looked up at each bucket's first reduce, after any layer swap or move.
        _ = ApproxLayerSelection.Select(model, options.Layers);
    }

    public string Name => "topk-crs";

    public void Reduce(GradientBucket bucket, IProcessGroup group) =>
        _tally.Measure(group, bucket.Values.Length, () => Send(bucket, group));

    /// <summary>The exchange of one bucket; returns the bytes this rank handed to the all-reduce.</summary>
    long Send(GradientBucket bucket, IProcessGroup group)
    {
        var plan = PlanOf(bucket);
        var selection = Select(plan);
        if (_options.CheckEvery > 0 && plan.Reduces % _options.CheckEvery == 0) Verify(plan, selection, group);
        plan.Reduces++;
        Track(plan, selection);

        long packedCount = bucket.Values.Length;
        for (int i = 0; i < plan.Sampled.Length; i++)
            if (!selection[i].IsExact) packedCount -= (long)plan.Sampled[i].Rows * (plan.Sampled[i].N - selection[i].Count) * plan.Sampled[i].Inner;
        if (packedCount == bucket.Values.Length)
        {
            group.AllReduce<float>(bucket.Values, ReduceOp.Sum);
            return 4L * packedCount;
        }
        if (_packed.Length < packedCount) _packed = new float[packedCount];
        var packed = _packed.AsSpan(0, (int)packedCount);
        Move(bucket, plan, selection, packed, pack: true);
        group.AllReduce(packed, ReduceOp.Sum);
        Move(bucket, plan, selection, packed, pack: false);
        return 4L * packedCount;
    }

    /// <summary>
    /// All-gathers a hash of each sampled layer's S in <paramref name="bucket"/> (from the current weights) and throws a
    /// <see cref="DistributedException"/> naming the first layer on which ranks disagree. Every rank must call it for the
    /// same bucket. <see cref="Reduce"/> calls it every check_every reduces.
    /// </summary>
    public void VerifySelection(GradientBucket bucket, IProcessGroup group)
    {
        var plan = PlanOf(bucket);
        Verify(plan, Select(plan), group);
    }

    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        _tally.Collect(figures);
        double sum = 0;
        long count = 0;
        var layers = new Dictionary<string, object>();
        foreach (var (name, t) in _tracks)
        {
            var f = new Dictionary<string, object> { ["n"] = t.N, ["k"] = t.K };
            if (t.Changes > 0) f["turnover"] = Math.Round(t.TurnoverSum / t.Changes, 4);
            layers[name] = f;
            sum += t.TurnoverSum; count += t.Changes;
            t.TurnoverSum = 0; t.Changes = 0;
        }
        if (count > 0) figures["topk_crs_turnover"] = Math.Round(sum / count, 4);
        figures["topk_crs_layers"] = layers;
    }

    /// <summary>One sampled layer's weight in a bucket: segment index, layer name, keep ratio, and the weight viewed as
    /// [Rows, N, Inner] with N the input channels/features (Linear [out, in]: Inner 1; Conv2d [C_out, C_in, kh, kw]: kh·kw).</summary>
    sealed record SampledWeight(int Segment, string Layer, double Keep, int Rows, int N, int Inner);

    sealed class BucketPlan(Tensor[] parameters, SampledWeight[] sampled)
    {
        public readonly Tensor[] Parameters = parameters;
        public readonly SampledWeight[] Sampled = sampled;
        public long Reduces;

        public bool Matches(GradientBucket b)
        {
            if (b.Segments.Count != Parameters.Length) return false;
            for (int i = 0; i < Parameters.Length; i++) if (!ReferenceEquals(b.Segments[i].Parameter, Parameters[i])) return false;
            return true;
        }
    }

    /// <summary>A layer's S at its last reduce and the epoch's turnover sum over the reduces that had a previous S.</summary>
    sealed class LayerTrack
    {
        public int[]? Previous;
        public int N, K;
        public double TurnoverSum;
        public long Changes;
    }

    /// <summary>The bucket's sampled weights, found once per bucket (again if its parameters were replaced, e.g. moved).</summary>
    BucketPlan PlanOf(GradientBucket bucket)
    {
        if (_plans.TryGetValue(bucket.Index, out var plan) && plan.Matches(bucket)) return plan;
        var weights = SampledWeights();
        var sampled = new List<SampledWeight>();
        for (int i = 0; i < bucket.Segments.Count; i++)
        {
            var shape = bucket.Segments[i].Shape;
            if (!weights.TryGetValue(bucket.Segments[i].Parameter, out var w)) continue;
            sampled.Add(new SampledWeight(i, w.Layer, w.Keep, shape[0], shape[1], shape.Prod(2, shape.Rank)));
        }
        plan = new BucketPlan(bucket.Segments.Select(s => s.Parameter).ToArray(), sampled.ToArray());
        _plans[bucket.Index] = plan;
        return plan;
    }

    /// <summary>Weight tensor → (layer, keep) for the layers the options select, with ApproxOptions' semantics.</summary>
    Dictionary<Tensor, (string Layer, double Keep)> SampledWeights()
    {
        var layers = ApproxLayerSelection.Candidates(_model).ToDictionary(c => c.Name, c => c.Layer);
        var parameters = _model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        bool named = _options.Layers != null && _options.Layers.Trim() != "all";
        var map = new Dictionary<Tensor, (string, double)>(ReferenceEqualityComparer.Instance);
        foreach (var (name, keep) in ApproxLayerSelection.Select(_model, _options.Layers))
        {
            if (!named && !_options.Linear && layers[name] is Linear or ApproxLinear) continue;
            map[parameters[name.Length == 0 ? "weight" : $"{name}.weight"]] = (name, keep ?? _options.Keep);
        }
        return map;
    }

    ColumnSample[] Select(BucketPlan plan)
    {
        var selection = new ColumnSample[plan.Sampled.Length];
        for (int i = 0; i < selection.Length; i++)
            selection[i] = WeightNormTopK.Select(plan.Parameters[plan.Sampled[i].Segment], plan.Sampled[i].Keep, _options.MinK);
        return selection;
    }

    /// <summary>Turnover of S: the share of this step's S not in the previous step's, |S_t \ S_{t−1}| / |S_t|.</summary>
    void Track(BucketPlan plan, ColumnSample[] selection)
    {
        for (int i = 0; i < selection.Length; i++)
        {
            var w = plan.Sampled[i];
            if (!_tracks.TryGetValue(w.Layer, out var t)) _tracks[w.Layer] = t = new LayerTrack();
            var s = selection[i].Indices;
            if (t.Previous != null)
            {
                t.TurnoverSum += (double)(s.Length - SortedOverlap(s, t.Previous)) / s.Length;
                t.Changes++;
            }
            t.Previous = s; t.N = w.N; t.K = s.Length;
        }
    }

    static int SortedOverlap(int[] a, int[] b)
    {
        int i = 0, j = 0, common = 0;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j]) { common++; i++; j++; }
            else if (a[i] < b[j]) i++;
            else j++;
        }
        return common;
    }

    void Verify(BucketPlan plan, ColumnSample[] selection, IProcessGroup group)
    {
        int layers = selection.Length;
        if (layers == 0) return;
        var mine = new long[layers];
        for (int i = 0; i < layers; i++) mine[i] = Hash(selection[i].Indices, plan.Sampled[i].N);
        var all = new long[layers * group.Size];
        group.AllGather<long>(mine, all);
        for (int i = 0; i < layers; i++)
            for (int r = 0; r < group.Size; r++)
                if (all[r * layers + i] != all[i])
                    throw new DistributedException(
                        $"rank {group.Rank}: topk-crs: layer '{plan.Sampled[i].Layer}' selects different input channels on rank 0 and rank {r}; " +
                        "its weights differ between ranks (broadcast the initial weights from rank 0 and apply identical updates)");
    }

    /// <summary>FNV-1a over n and the sorted indices.</summary>
    static long Hash(int[] indices, int n) => Fnv1a.Of(n, indices);

    /// <summary>Packs the bucket into <paramref name="packed"/> (sampled weights as grad[:, S], everything else whole), or
    /// scatters it back, zeros outside S. Consecutive channels of S are copied as one run.</summary>
    static void Move(GradientBucket bucket, BucketPlan plan, ColumnSample[] selection, Span<float> packed, bool pack)
    {
        int at = 0, next = 0;
        for (int seg = 0; seg < bucket.Segments.Count; seg++)
        {
            var values = bucket.Of(bucket.Segments[seg]);
            int sampledIndex = next < plan.Sampled.Length && plan.Sampled[next].Segment == seg ? next++ : -1;
            if (sampledIndex < 0 || selection[sampledIndex].IsExact)
            {
                if (pack) values.CopyTo(packed[at..]); else packed.Slice(at, values.Length).CopyTo(values);
                at += values.Length;
                continue;
            }
            var w = plan.Sampled[sampledIndex];
            var s = selection[sampledIndex].Indices;
            if (!pack) values.Clear();
            if (w.Inner == 1)
            {
                // Linear: single elements, gathered by index (runs are short once S is scattered).
                for (int row = 0; row < w.Rows; row++)
                {
                    var r = values.Slice(row * w.N, w.N);
                    if (pack) foreach (int c in s) packed[at++] = r[c];
                    else foreach (int c in s) r[c] = packed[at++];
                }
                continue;
            }
            var runs = Runs(s);
            for (int row = 0; row < w.Rows; row++)
                foreach (var (start, length) in runs)
                {
                    var slice = values.Slice((row * w.N + start) * w.Inner, length * w.Inner);
                    if (pack) slice.CopyTo(packed[at..]); else packed.Slice(at, slice.Length).CopyTo(slice);
                    at += slice.Length;
                }
        }
    }

    static List<(int Start, int Length)> Runs(int[] sorted)
    {
        var runs = new List<(int, int)>();
        for (int i = 0; i < sorted.Length;)
        {
            int j = i + 1;
            while (j < sorted.Length && sorted[j] == sorted[j - 1] + 1) j++;
            runs.Add((sorted[i], j - i));
            i = j;
        }
        return runs;
    }
}
