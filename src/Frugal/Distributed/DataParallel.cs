using System.Diagnostics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Text;
using Frugal.Autograd;
using Frugal.Distributed.Compression;
using Frugal.Distributed.Stragglers;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Distributed;

/// <summary>
/// Synchronous data parallelism over a process group (PyTorch's DistributedDataParallel): the constructor makes
/// every rank's weights rank 0's; each step every rank back-propagates its own shard, and
/// <see cref="ReduceGradients"/> replaces each gradient with the mean over ranks (and micro-batches), so every rank
/// takes the same optimizer step and the weights stay identical bit for bit. Gradients travel in buckets of about
/// <see cref="DataParallelOptions.BucketMegabytes"/>, in reverse parameter order — the order backward produces them —
/// and, for the exact exchange, each bucket is sent the moment its last gradient is accumulated, overlapping
/// communication with the rest of backward. A compressor decides how a bucket crosses the network.
/// BatchNorm: each rank normalises with its own shard's statistics (as PyTorch DDP without SyncBatchNorm); the running
/// statistics are averaged over ranks by <see cref="AverageBuffers"/> before evaluation and checkpoints.
/// A hand-written loop calls: <see cref="BeginStep"/>, forward, <see cref="PrepareBackward"/>, backward (per
/// micro-batch), <see cref="ReduceGradients"/>, optimizer step.
/// </summary>
public sealed class DataParallel : IDisposable
{
    public Module Model { get; }
    public IProcessGroup Group { get; }
    public DataParallelOptions Options { get; }
    public IGradientCompressor Compressor { get; }
    /// <summary>DropCompute's policy for the step's micro-batches (null: every micro-batch runs).</summary>
    public DropCompute? DropCompute { get; }
    /// <summary>The parameters whose gradients are exchanged, in the model's order.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }
    /// <summary>Rank 0 writes the run folder and reports progress.</summary>
    public bool IsRoot => Group.Rank == 0;

    readonly GradientBucket[] _buckets;
    readonly Dictionary<Tensor, int> _bucketOf = new(ReferenceEqualityComparer.Instance);
    readonly int[] _waiting;
    readonly CollectiveRequest?[] _requests;
    readonly List<RemovableHandle> _hooks = [];
    readonly bool _canOverlap, _foldCount;
    bool _overlapping;
    int _launched;
    float _scale;
    long _stepStart, _steps, _computeTicks, _communicationTicks, _wire, _payload, _overlapped, _wireAtStepStart, _payloadAtStepStart;

    public DataParallel(Module model, IProcessGroup group, DataParallelOptions? options = null, IGradientCompressor? compressor = null,
        DropCompute? dropCompute = null)
    {
        Model = model; Group = group;
        Options = (options ?? new()).Validate();
        Compressor = compressor ?? new ExactReduce();
        DropCompute = dropCompute;
        if (dropCompute != null && dropCompute.MicroBatches != Options.MicroBatches)
            throw new ArgumentException($"data parallel: DropCompute was built for {dropCompute.MicroBatches} micro-batches, the step has {Options.MicroBatches}");
        Parameters = model.Parameters().Where(p => p.RequiresGrad).ToList();
        CheckSameModel();
        // DropCompute's actual normalisation: the exact exchange carries each rank's count in one extra value.
        _foldCount = dropCompute?.Options.Normalization == DropComputeNormalization.Actual && Compressor is ExactReduce;
        _buckets = MakeBuckets(Parameters, (long)(Options.BucketMegabytes * (1 << 20)), _foldCount ? 1 : 0);
        _waiting = new int[_buckets.Length];
        _requests = new CollectiveRequest?[_buckets.Length];
        for (int b = 0; b < _buckets.Length; b++)
            foreach (var s in _buckets[b].Segments) _bucketOf[s.Parameter] = b;
        BroadcastModel();
        _canOverlap = Options.Overlap && group.Size > 1 && Compressor is ExactReduce && Options.MicroBatches == 1 && dropCompute == null;
        if (_canOverlap)
            foreach (var p in Parameters) _hooks.Add(p.RegisterPostAccumulateGradHook(OnGradientReady));
    }

    /// <summary>The buckets, in the order they are sent.</summary>
    public IReadOnlyList<GradientBucket> Buckets => _buckets;

    /// <summary>Starts a step: its compute time runs from here to <see cref="ReduceGradients"/>.</summary>
    public void BeginStep()
    {
        _stepStart = Stopwatch.GetTimestamp();
        _wireAtStepStart = Group.Traffic.WireBytes;
        _payloadAtStepStart = Group.Traffic.PayloadBytes;
        _overlapping = false;
        _launched = 0;
    }

    /// <summary>Call before each micro-batch's backward; <paramref name="last"/>: it is the step's last one, so its
    /// buckets may be sent as backward produces them (when the exchange is exact and overlap is on).</summary>
    public void PrepareBackward(bool last)
    {
        if (!last || !_canOverlap) return;
        _overlapping = true;
        _scale = 1f / (Group.Size * Options.MicroBatches);
        for (int b = 0; b < _buckets.Length; b++) _waiting[b] = _buckets[b].Segments.Count;
    }

    /// <summary>
    /// Replaces every parameter's gradient with the mean over ranks of the micro-batch gradients accumulated since the
    /// step began: divided by N·M nominally (a micro-batch a rank did not compute counts as zeros, DropCompute's
    /// reference normalisation), or, given <paramref name="contributedMicroBatches"/>, by the total that all ranks
    /// contributed (the exact exchange carries this rank's count in its last bucket: no extra collective; a
    /// compressor gets a one-value all-reduce). Waits for the buckets sent during backward. Every rank must call it
    /// once per step.
    /// </summary>
    public void ReduceGradients(int? contributedMicroBatches = null)
    {
        long start = Stopwatch.GetTimestamp();
        _computeTicks += start - _stepStart;
        if (_overlapping)
        {
            LaunchReady(force: true);
            for (int b = 0; b < _buckets.Length; b++) { _requests[b]!.Wait(); _requests[b] = null; Unpack(_buckets[b], 1f); }
        }
        else if (Group.Size > 1 || Options.MicroBatches > 1 || contributedMicroBatches != null)
        {
            float nominal = Group.Size * Options.MicroBatches, total = nominal;
            _scale = 1f / nominal;
            bool fold = contributedMicroBatches != null && _foldCount;
            if (contributedMicroBatches is int mine && !fold)
            {
                Span<float> count = [mine];
                Group.AllReduce(count, ReduceOp.Sum);
                total = count[0];
            }
            foreach (var bucket in _buckets)
            {
                Pack(bucket);
                if (fold && bucket.Index == _buckets.Length - 1) bucket.Values[^1] = contributedMicroBatches!.Value;
                Compressor.Reduce(bucket, Group);
            }
            if (fold) total = _buckets[^1].Values[^1];
            // Actual normalisation: the sum of micro-batch means over the N·M nominal, rescaled to the real count.
            float rescale = contributedMicroBatches != null && total > 0 ? nominal / total : 1f;
            foreach (var bucket in _buckets) Unpack(bucket, rescale);
        }
        _overlapping = false;
        _communicationTicks += Stopwatch.GetTimestamp() - start;
        _wire += Group.Traffic.WireBytes - _wireAtStepStart;
        _payload += Group.Traffic.PayloadBytes - _payloadAtStepStart;
        _steps++;
    }

    /// <summary>Averages floating-point buffers (BatchNorm's running statistics) over ranks.</summary>
    public void AverageBuffers()
    {
        if (Group.Size == 1) return;
        var buffers = Model.NamedBuffers().Where(b => !b.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal)).Select(b => b.Buffer).ToList();
        var flat = Flatten(buffers);
        Group.AllReduce<float>(flat, ReduceOp.Sum);
        TensorPrimitives.Multiply(flat, 1f / Group.Size, flat);
        Scatter(flat, buffers);
    }

    /// <summary>The sum over ranks of each value (epoch totals: loss sums, example counts, correct answers).</summary>
    public double[] SumOverRanks(params double[] values)
    {
        Group.AllReduce<double>(values, ReduceOp.Sum);
        return values;
    }

    /// <summary>
    /// Rank 0's <paramref name="tensors"/> on every rank (resuming: the checkpoint's optimizer state, which only rank 0
    /// read). Other ranks pass null and get fresh tensors of rank 0's keys and shapes.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> BroadcastTensors(IReadOnlyDictionary<string, Tensor>? tensors)
    {
        var keys = tensors?.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        var header = Encoding.UTF8.GetBytes(keys == null ? "" : string.Join("\n", keys.Select(k => $"{k}\t{string.Join(",", tensors![k].Shape.ToArray())}")));
        Span<int> length = [header.Length];
        Group.Broadcast(length, 0);
        if (!IsRoot) header = new byte[length[0]];
        Group.Broadcast<byte>(header, 0);
        var entries = Encoding.UTF8.GetString(header).Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('\t')).Select(p => (Key: p[0], Shape: new Shape(p[1].Length == 0 ? [] : p[1].Split(',').Select(int.Parse).ToArray())))
            .ToList();
        var result = entries.ToDictionary(e => e.Key, e => IsRoot ? tensors![e.Key] : Tensor.Zeros(e.Shape));
        var list = entries.Select(e => result[e.Key]).ToList();
        var flat = Flatten(list);
        Group.Broadcast<float>(flat, 0);
        if (!IsRoot) Scatter(flat, list);
        return result;
    }

    /// <summary>Adds this epoch's exchange figures (per step, this rank's: gradient bytes on the wire by the ring
    /// formulas and handed to collectives, what an exact fp32 exchange would put on the wire, compute seconds
    /// before the exchange and seconds spent in it; the compressor's own) and starts counting afresh.</summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        long steps = Math.Max(1, _steps);
        figures["ranks"] = Group.Size;
        figures["wire_bytes_per_step"] = _wire / steps;
        figures["payload_bytes_per_step"] = _payload / steps;
        figures["fp32_bytes_per_step"] = (long)Math.Round(Traffic.AllReduceWire(4L * Parameters.Sum(p => (long)p.Numel), Group.Size));
        figures["buckets_sent_during_backward_per_step"] = _overlapped / (double)steps;
        figures["compute_seconds_per_step"] = _computeTicks / (double)Stopwatch.Frequency / steps;
        figures["communication_seconds_per_step"] = _communicationTicks / (double)Stopwatch.Frequency / steps;
        Compressor.CollectEpochFigures(figures);
        DropCompute?.CollectEpochFigures(figures);
        _steps = _computeTicks = _communicationTicks = _wire = _payload = _overlapped = 0;
    }

    public void Dispose()
    {
        foreach (var h in _hooks) h.Remove();
        _hooks.Clear();
    }

    void OnGradientReady(Tensor parameter)
    {
        if (!_overlapping || !_bucketOf.TryGetValue(parameter, out int b)) return;
        if (--_waiting[b] == 0) _overlapped += LaunchReady(force: false);
    }

    /// <summary>Sends the ready buckets in index order (every rank sends them in the same order, whatever order
    /// backward finished them in); <paramref name="force"/> sends the rest too (parameters backward did not reach).</summary>
    int LaunchReady(bool force)
    {
        int sent = 0;
        while (_launched < _buckets.Length && (force || _waiting[_launched] == 0))
        {
            var bucket = _buckets[_launched];
            Pack(bucket);
            _requests[_launched] = Group.StartAllReduce(bucket.Values, ReduceOp.Sum);
            _launched++;
            sent++;
        }
        return sent;
    }

    void Pack(GradientBucket bucket)
    {
        foreach (var s in bucket.Segments)
        {
            var into = bucket.Of(s);
            var grad = s.Parameter.Grad;
            if (grad == null) { into.Clear(); continue; }
            if (grad.Storage.HostArray is { } host) TensorPrimitives.Multiply(host.AsSpan(grad.Offset, grad.Numel), _scale, into);
            else { grad.Backend.Download(grad.Storage, grad.Offset, into); TensorPrimitives.Multiply(into, _scale, into); }
        }
    }

    /// <summary>New gradient tensors (a gradient tensor may be shared by two leaves, so it is never written in place).</summary>
    void Unpack(GradientBucket bucket, float scale)
    {
        if (scale != 1f) TensorPrimitives.Multiply(bucket.Values, scale, bucket.Values);
        foreach (var s in bucket.Segments)
            s.Parameter.Grad = Tensor.FromArray(bucket.Of(s), s.Shape, s.Parameter.Device);
    }

    static GradientBucket[] MakeBuckets(IReadOnlyList<Tensor> parameters, long capBytes, int reserveInLast)
    {
        var buckets = new List<GradientBucket>();
        var current = new List<Tensor>();
        long bytes = 0;
        for (int i = parameters.Count - 1; i >= 0; i--)
        {
            current.Add(parameters[i]);
            bytes += 4L * parameters[i].Numel;
            if (bytes >= capBytes && i > 0) { buckets.Add(new GradientBucket(buckets.Count, current)); current = []; bytes = 0; }
        }
        buckets.Add(new GradientBucket(buckets.Count, current, reserveInLast));
        return buckets.ToArray();
    }

    void CheckSameModel()
    {
        var description = string.Join(";", Model.StateDict().Select(p => $"{p.Key}:{p.Value.Shape}"));
        Span<long> mine = [Fnv1a.Of(description)];
        var all = new long[Group.Size];
        Group.AllGather<long>(mine, all);
        int other = Array.FindIndex(all, h => h != all[0]);
        if (other >= 0)
            throw new DistributedException($"rank {Group.Rank}: rank {other}'s model differs from rank 0's (its parameter names or shapes); every rank must build the same model");
    }

    void BroadcastModel()
    {
        if (Group.Size == 1) return;
        var tensors = Model.StateDict().Select(p => p.Value).ToList();
        var flat = Flatten(tensors);
        Group.Broadcast<float>(flat, 0);
        if (!IsRoot) Scatter(flat, tensors);
    }

    static float[] Flatten(IReadOnlyList<Tensor> tensors)
    {
        var flat = new float[tensors.Sum(t => t.Numel)];
        int offset = 0;
        foreach (var t in tensors) { t.Backend.Download(t.Storage, t.Offset, flat.AsSpan(offset, t.Numel)); offset += t.Numel; }
        return flat;
    }

    static void Scatter(float[] flat, IReadOnlyList<Tensor> tensors)
    {
        int offset = 0;
        foreach (var t in tensors) { t.Backend.Upload(flat.AsSpan(offset, t.Numel), t.Storage, t.Offset); offset += t.Numel; }
    }
}
