using System.Numerics.Tensors;
using Frugal.Tensors;

namespace Frugal.Distributed.Compression;

/// <summary>
/// --compress powersgd: rank-r PowerSGD (Vogels, Karimireddy, Jaggi, NeurIPS 2019, arXiv 1905.13727, Alg. 1 with the
/// error feedback of Alg. 2). Each weight gradient, as a matrix M [n×m] (a conv kernel as [C_out, C_in·kh·kw]), is
/// replaced by P̂·Qᵀ from one step of subspace iteration: M ← M + e; P = M·Q; all-reduce P; P̂ = orthonormal(P);
/// Q = Mᵀ·P̂; all-reduce Q; M̂ = P̂·Qᵀ = P̂·P̂ᵀ·Σ_ranks M. Q starts from the previous step's (warm start), from a generator
/// seeded alike on every rank at first. Matrices where r(n + m) ≥ n·m, and the 1-D gradients, travel exactly, in the
/// P all-reduce: two all-reduces per bucket, r·Σ(n + m) + (uncompressed) floats instead of Σ n·m.
/// <para>
/// Error: each rank's M is its share of the mean (pre-scaled by 1/N), and M̂ estimates the sum over ranks, so a rank's
/// error is its own residual e = M − P̂·P̂ᵀ·M = M − P̂·Q_localᵀ, with Q_local = Mᵀ·P̂ before the Q all-reduce (Alg. 2:
/// e ← Δ − decompress(C(Δ))). Then Σ_ranks e = Σ_ranks M − M̂ exactly: what this step did not deliver is added to the
/// next. (e = M − M̂ would subtract the N-rank sum from one rank's share.)
/// </para>
/// </summary>
public sealed class PowerSgdReduce : IGradientCompressor
{
    readonly PowerSgdOptions _options;
    readonly ulong _seed;
    readonly Dictionary<int, BucketState> _states = [];
    readonly CompressionTally _tally = new();
    float[] _p = [], _q = [];
    double _errorSum;
    long _errorCount;

    /// <param name="options">Rank, start iteration, warm start, error feedback.</param>
    /// <param name="seed">Seed of the initial Q; the same on every rank (the run's --seed).</param>
    public PowerSgdReduce(PowerSgdOptions options, ulong seed = 0)
    {
        _options = options.Validate();
        _seed = seed;
    }

    public string Name => "powersgd";

    public void Reduce(GradientBucket bucket, IProcessGroup group) =>
        _tally.Measure(group, bucket.Values.Length, () => Send(bucket, group));

    /// <summary>The exchange of one bucket; returns the bytes this rank handed to its all-reduces.</summary>
    long Send(GradientBucket bucket, IProcessGroup group)
    {
        var st = StateOf(bucket);
        long step = st.Reduces++;
        int total = bucket.Values.Length;
        if (step < _options.StartIteration || st.Matrices.Length == 0)
        {
            group.AllReduce<float>(bucket.Values, ReduceOp.Sum);
            return 4L * total;
        }
        int r = _options.Rank;
        int pLength = st.ExactFloats, qLength = 0;
        foreach (var x in st.Matrices) { pLength += r * x.Rows; qLength += r * x.Cols; }
        if (_p.Length < pLength) _p = new float[pLength];
        if (_q.Length < qLength) _q = new float[qLength];
        var p = _p.AsSpan(0, pLength);
        var q = _q.AsSpan(0, qLength);

        // P = M·Q for every matrix, with the exactly sent gradients behind them in the same buffer.
        int pAt = 0;
        for (int j = 0; j < st.Matrices.Length; j++)
        {
            var x = st.Matrices[j];
            var m = bucket.Values.AsSpan(x.Offset, x.Rows * x.Cols);
            if (_options.ErrorFeedback) TensorPrimitives.Add(m, st.Errors[j], m);
            LowRank.TimesQ(m, x.Rows, x.Cols, StartingQ(st, bucket.Index, j, step - _options.StartIteration), r, p.Slice(pAt, r * x.Rows));
            pAt += r * x.Rows;
        }
        foreach (var (offset, length) in st.Exact) { bucket.Values.AsSpan(offset, length).CopyTo(p[pAt..]); pAt += length; }
        group.AllReduce(p, ReduceOp.Sum);
        pAt = pLength - st.ExactFloats;
        foreach (var (offset, length) in st.Exact) { p.Slice(pAt, length).CopyTo(bucket.Values.AsSpan(offset, length)); pAt += length; }

        // Q = Mᵀ·P̂ from the local M; the local residual is the error fed into the next step.
        double squaredM = 0, squaredError = 0;
        pAt = 0;
        int qAt = 0;
        for (int j = 0; j < st.Matrices.Length; j++)
        {
            var x = st.Matrices[j];
            var m = bucket.Values.AsSpan(x.Offset, x.Rows * x.Cols);
            var pj = p.Slice(pAt, r * x.Rows);
            var qj = q.Slice(qAt, r * x.Cols);
            LowRank.Orthonormalise(pj, r, x.Rows);
            LowRank.TransposeTimesP(m, x.Rows, x.Cols, pj, r, qj);
            double mm = TensorPrimitives.Dot(m, m);
            squaredM += mm;
            if (_options.ErrorFeedback)
            {
                var e = st.Errors[j];
                m.CopyTo(e);
                LowRank.AddProduct(pj, qj, r, x.Rows, x.Cols, -1, e);
                squaredError += TensorPrimitives.Dot<float>(e, e);
            }
            // P̂ has orthonormal (or zero) columns, so ‖M − P̂·P̂ᵀ·M‖² = ‖M‖² − ‖P̂ᵀ·M‖²: the figure without the residual.
            else squaredError += Math.Max(0, mm - TensorPrimitives.Dot<float>(qj, qj));
            pAt += r * x.Rows; qAt += r * x.Cols;
        }
        group.AllReduce(q, ReduceOp.Sum);

        // M̂ = P̂·Qᵀ, identical on every rank: both factors are all-reduced (P̂ orthonormalised from the same sum).
        pAt = 0; qAt = 0;
        for (int j = 0; j < st.Matrices.Length; j++)
        {
            var x = st.Matrices[j];
            var m = bucket.Values.AsSpan(x.Offset, x.Rows * x.Cols);
            var qj = q.Slice(qAt, r * x.Cols);
            m.Clear();
            LowRank.AddProduct(p.Slice(pAt, r * x.Rows), qj, r, x.Rows, x.Cols, 1, m);
            if (_options.WarmStart) qj.CopyTo(st.Q[j]);
            pAt += r * x.Rows; qAt += r * x.Cols;
        }
        if (squaredM > 0) { _errorSum += Math.Sqrt(squaredError / squaredM); _errorCount++; }
        return 4L * (pLength + qLength);
    }

    /// <summary>Adds the byte figures of <see cref="CompressionTally"/> and powersgd_relative_error (the
    /// epoch's mean of this rank's ‖M − P̂·P̂ᵀ·M‖/‖M‖ over its error-fed matrices, per reduce).</summary>
    public void CollectEpochFigures(IDictionary<string, object> figures)
    {
        _tally.Collect(figures);
        if (_errorCount > 0) figures["powersgd_relative_error"] = Math.Round(_errorSum / _errorCount, 5);
        _errorSum = 0; _errorCount = 0;
    }

    /// <summary>This rank's error-feedback memory of <paramref name="bucket"/>'s compressed matrices, in bucket order
    /// (zeros before the first compressed step; empty arrays without error feedback): Σ over ranks is what the
    /// exchange still owes.</summary>
    public IReadOnlyList<float[]> ErrorOf(GradientBucket bucket) => StateOf(bucket).Errors;

    /// <summary>A gradient viewed as a matrix [Rows × Cols] at Values[Offset ..]: dimension 0 by the rest.</summary>
    readonly record struct Matrix(int Offset, int Rows, int Cols);

    sealed class BucketState(Shape[] shapes, Matrix[] matrices, (int Offset, int Length)[] exact, int rank, bool errorFeedback)
    {
        public readonly Shape[] Shapes = shapes;
        public readonly Matrix[] Matrices = matrices;
        public readonly (int Offset, int Length)[] Exact = exact;
        public readonly int ExactFloats = exact.Sum(e => e.Length);
        public readonly float[][] Errors = matrices.Select(x => new float[errorFeedback ? x.Rows * x.Cols : 0]).ToArray();
        public readonly float[][] Q = matrices.Select(x => new float[rank * x.Cols]).ToArray();
        public readonly bool[] Started = new bool[matrices.Length];
        public long Reduces;
    }

    /// <summary>The bucket's state, made at its first reduce: which segments are compressed (rank ≥ 2 and
    /// r(n + m) &lt; n·m) and which travel exactly.</summary>
    BucketState StateOf(GradientBucket bucket)
    {
        if (_states.TryGetValue(bucket.Index, out var st))
        {
            bool same = st.Shapes.Length == bucket.Segments.Count;
            for (int i = 0; same && i < st.Shapes.Length; i++) same = st.Shapes[i] == bucket.Segments[i].Shape;
            if (same) return st;
            var layout = string.Join(", ", bucket.Segments.Select(s => s.Shape));
            throw new InvalidOperationException(
                $"powersgd: bucket {bucket.Index} changed its layout ({layout}); its error feedback and Q belong to the old one — use a new compressor");
        }
        var shapes = bucket.Segments.Select(s => s.Shape).ToArray();
        int r = _options.Rank;
        var matrices = new List<Matrix>();
        var exact = new List<(int, int)>();
        foreach (var s in bucket.Segments)
        {
            int rows = s.Shape.Rank >= 2 ? s.Shape[0] : 1, cols = s.Numel / Math.Max(rows, 1);
            if (s.Shape.Rank >= 2 && (long)r * (rows + cols) < (long)rows * cols) matrices.Add(new Matrix(s.Offset, rows, cols));
            else exact.Add((s.Offset, s.Numel));
        }
        st = new BucketState(shapes, matrices.ToArray(), exact.ToArray(), r, _options.ErrorFeedback);
        _states[bucket.Index] = st;
        return st;
    }

    /// <summary>
    /// This step's Q for matrix j: the previous step's all-reduced Q under warm start, else (and at the first compressed
    /// step) standard normal from a generator seeded by (seed, bucket, matrix, compressed step), so all ranks draw the
    /// same. A column that came back zero (M was zero) is drawn afresh: P = M·0 would stay zero for ever.
    /// </summary>
    float[] StartingQ(BucketState st, int bucketIndex, int j, long step)
    {
        var qt = st.Q[j];
        int cols = st.Matrices[j].Cols;
        bool fresh = !_options.WarmStart || !st.Started[j];
        st.Started[j] = true;
        Generator? rng = null;
        for (int c = 0; c < _options.Rank; c++)
        {
            var col = qt.AsSpan(c * cols, cols);
            if (!fresh && TensorPrimitives.Dot<float>(col, col) > 0) continue;
            rng ??= new Generator(Seed(_seed, bucketIndex, j, step));
            rng.FillNormal(col);
        }
        return qt;
    }

    /// <summary>SplitMix64 over the seed and the three indices: unrelated streams for nearby matrices and steps.</summary>
    static ulong Seed(ulong seed, int bucket, int matrix, long step)
    {
        ulong z = seed;
        foreach (ulong v in new[] { (ulong)(uint)bucket, (ulong)(uint)matrix, (ulong)step })
        {
            z = (z ^ v) + 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
        }
        return z;
    }
}
