using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Gradient pruning in one pass: a Vector512 body where AVX-512 runs (<see cref="PruneWide"/>), then Vector&lt;float&gt;,
/// the counter-based uniforms computed in 32-bit lanes (<see cref="CounterRandom"/>), and a scalar tail that is the
/// reference (same float operations, same order, so every path gives the same bits). The pass is bound by the
/// per-element arithmetic (the hash alone is three multiplies and six shifts or xors), not by memory: on the 2-core
/// AVX-512 VM one thread pruned 3.2M floats with statistics in 4.0 ms against 0.9 ms for a plain copy, so twice the
/// lanes pay. Statistics accumulate in float vectors per 4096-element block and in double across blocks.
/// </summary>
public sealed partial class CpuBackend
{
    public void Prune(PruneKind kind, Tensor x, Tensor y, float threshold, ulong seed, Tensor? stats)
    {
        CheckPrune(x, y, threshold, stats);
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        uint key = CounterRandom.Key(seed);
        var total = new PruneSums();
        var gate = new object();
        bool wantStats = stats is not null;
        Threading.For(x.Numel, (s, e) =>
        {
            var part = PruneRange(kind, xd.AsSpan(xo + s, e - s), yd.AsSpan(yo + s, e - s), s, threshold, key, wantStats);
            if (wantStats) lock (gate) total.Add(part);
        });
        if (stats is not null) WritePruneStats(stats, total);
    }

    static void WritePruneStats(Tensor stats, in PruneSums total)
    {
        var sd = Data(stats);
        int so = stats.Offset;
        sd[so] = total.Zeros; sd[so + 1] = (float)total.Dot; sd[so + 2] = (float)total.XX; sd[so + 3] = (float)total.YY;
    }

    /// <summary>A <see cref="GradientPrune"/> applied in place to rows of the gradient a kernel writes: each row by its
    /// flat index in the gradient (the random counter), the statistics summed across threads.</summary>
    sealed class RowPrune
    {
        readonly PruneKind _kind;
        readonly float _alpha;
        readonly uint _key;
        readonly Tensor _stats;
        PruneSums _total;

        public RowPrune(GradientPrune prune, Tensor gradient)
        {
            CheckPrune(gradient, gradient, prune.Threshold, prune.Stats);
            _kind = prune.Kind; _alpha = prune.Threshold; _key = CounterRandom.Key(prune.Seed); _stats = prune.Stats;
        }

        /// <summary>Prunes <paramref name="row"/> (flat indices start.. of the gradient) in place, adding to a thread's sums.</summary>
        public void Row(Span<float> row, int start, ref PruneSums sums) => sums.Add(PruneRange(_kind, row, row, start, _alpha, _key, wantStats: true));

        /// <summary>Adds one thread's sums.</summary>
        public void Add(in PruneSums sums) { lock (this) _total.Add(sums); }

        public void WriteStats() => WritePruneStats(_stats, _total);
    }

    /// <summary>The argument checks of <see cref="IBackend.Prune"/>, shared with the other backends.</summary>
    internal static void CheckPrune(Tensor x, Tensor y, float threshold, Tensor? stats)
    {
        if (x.Numel != y.Numel) throw new ArgumentException($"prune: output has shape {y.Shape}, input {x.Shape}");
        if (!(threshold >= 0) || float.IsInfinity(threshold)) throw new ArgumentException($"prune: threshold must be finite and ≥ 0, got {threshold}");
        if (stats is not null && stats.Numel != 4) throw new ArgumentException($"prune: stats must have 4 elements, got shape {stats.Shape}");
    }

    struct PruneSums
    {
        public long Zeros;
        public double Dot, XX, YY;
        public void Add(in PruneSums o) { Zeros += o.Zeros; Dot += o.Dot; XX += o.XX; YY += o.YY; }
    }

    /// <summary>Prunes x[0..n) into y; <paramref name="start"/> is the flat index of x[0] in the whole tensor
    /// (the random counter), so the result does not depend on how the range was split.</summary>
    static PruneSums PruneRange(PruneKind kind, ReadOnlySpan<float> x, Span<float> y, int start, float alpha, uint key, bool wantStats)
    {
        const int Block = 4096;
        int n = x.Length, w = Vector<float>.Count;
        bool stochastic = kind == PruneKind.Stochastic;
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float ry = ref MemoryMarshal.GetReference(y);
        var va = new Vector<float>(alpha);
        var alphaBits = Vector.AsVectorUInt32(va);
        var signMask = new Vector<uint>(0x80000000u);
        var vkey = new Vector<uint>(key);
        var inv24 = new Vector<float>(CounterRandom.Inv24);
        var sums = new PruneSums();
        for (int b = 0; b < n; b += Block)
        {
            int end = Math.Min(n, b + Block), i = b;
            if (Vector512.IsHardwareAccelerated) i = PruneWide(stochastic, ref rx, ref ry, i, end, start, alpha, key, wantStats, ref sums);
            Vector<int> zeros = Vector<int>.Zero;
            Vector<float> dot = Vector<float>.Zero, xx = Vector<float>.Zero, yy = Vector<float>.Zero;
            for (; i <= end - w; i += w)
            {
                var xv = Vector.LoadUnsafe(ref rx, (nuint)i);
                var below = Vector.LessThan(Vector.Abs(xv), va);    // false for NaN: NaN is kept
                Vector<float> yv;
                if (stochastic)
                {
                    var counter = new Vector<uint>((uint)(start + i)) + Vector<uint>.Indices;
                    var bits = CounterRandom.Bits24(vkey, counter);
                    var u = Vector.ConvertToSingle(Vector.AsVectorInt32(bits)) * inv24;
                    var up = Vector.LessThan(u * va, Vector.Abs(xv));
                    var signedAlpha = Vector.AsVectorSingle((Vector.AsVectorUInt32(xv) & signMask) | alphaBits);
                    yv = Vector.ConditionalSelect(below, Vector.ConditionalSelect(up, signedAlpha, Vector<float>.Zero), xv);
                }
                else yv = Vector.ConditionalSelect(below, Vector<float>.Zero, xv);
                yv.StoreUnsafe(ref ry, (nuint)i);
                if (wantStats)
                {
                    zeros += Vector.Equals(yv, Vector<float>.Zero);   // −1 per zero lane
                    dot += xv * yv; xx += xv * xv; yy += yv * yv;
                }
            }
            long tailZeros = 0;
            float tailDot = 0, tailXX = 0, tailYY = 0;
            for (; i < end; i++)
            {
                float xi = x[i], yi = PruneScalar(kind, xi, alpha, key, start + i);
                y[i] = yi;
                if (wantStats)
                {
                    if (yi == 0) tailZeros++;
                    tailDot += xi * yi; tailXX += xi * xi; tailYY += yi * yi;
                }
            }
            if (wantStats)
            {
                sums.Zeros += tailZeros - Vector.Sum(zeros);
                sums.Dot += Vector.Sum(dot) + tailDot;
                sums.XX += Vector.Sum(xx) + tailXX;
                sums.YY += Vector.Sum(yy) + tailYY;
            }
        }
        return sums;
    }

    /// <summary>The Vector512 body of <see cref="PruneRange"/> on x[i..end) (one block), the same operations as the
    /// Vector&lt;float&gt; body in 16 lanes and with fused multiply-adds for the sums; returns where it stopped (fewer than
    /// 16 left) and adds its block's statistics to <paramref name="sums"/>.</summary>
    static int PruneWide(bool stochastic, ref float rx, ref float ry, int i, int end, int start, float alpha, uint key, bool wantStats, ref PruneSums sums)
    {
        const int w = 16;
        var va = Vector512.Create(alpha);
        var alphaBits = va.AsUInt32();
        var signMask = Vector512.Create(0x80000000u);
        var vkey = Vector512.Create(key);
        var inv24 = Vector512.Create(CounterRandom.Inv24);
        var zeros = Vector512<int>.Zero;
        Vector512<float> dot = Vector512<float>.Zero, xx = Vector512<float>.Zero, yy = Vector512<float>.Zero;
        var golden = Vector512.Create(CounterRandom.Golden);
        // The lanes' index·Golden + key, advanced by 16·Golden per vector (CounterRandom.Bits24OfWeyl).
        var weyl = (Vector512.Create((uint)(start + i)) + Vector512<uint>.Indices) * golden + vkey;
        var weylStep = golden * Vector512.Create((uint)w);
        for (; i <= end - w; i += w, weyl += weylStep)
        {
            var xv = Vector512.LoadUnsafe(ref rx, (nuint)i);
            var ax = Vector512.Abs(xv);
            var below = Vector512.LessThan(ax, va);              // false for NaN: NaN is kept
            Vector512<float> yv;
            if (stochastic)
            {
                var u = Vector512.ConvertToSingle(CounterRandom.Bits24OfWeyl(weyl).AsInt32()) * inv24;
                var up = Vector512.LessThan(u * va, ax);
                var signedAlpha = ((xv.AsUInt32() & signMask) | alphaBits).AsSingle();
                yv = Vector512.ConditionalSelect(below, Vector512.ConditionalSelect(up, signedAlpha, Vector512<float>.Zero), xv);
            }
            else yv = Vector512.ConditionalSelect(below, Vector512<float>.Zero, xv);
            yv.StoreUnsafe(ref ry, (nuint)i);
            if (wantStats)
            {
                zeros += Vector512.Equals(yv, Vector512<float>.Zero).AsInt32();   // −1 per zero lane
                dot = Vector512.FusedMultiplyAdd(xv, yv, dot);
                xx = Vector512.FusedMultiplyAdd(xv, xv, xx);
                yy = Vector512.FusedMultiplyAdd(yv, yv, yy);
            }
        }
        if (wantStats)
        {
            sums.Zeros -= Vector512.Sum(zeros);
            sums.Dot += Vector512.Sum(dot); sums.XX += Vector512.Sum(xx); sums.YY += Vector512.Sum(yy);
        }
        return i;
    }

    /// <summary>The scalar reference of one element (see <see cref="IBackend.Prune"/>).</summary>
    internal static float PruneScalar(PruneKind kind, float x, float alpha, uint key, int index)
    {
        float a = MathF.Abs(x);
        if (!(a < alpha)) return x;
        if (kind == PruneKind.Threshold) return 0f;
        float u = CounterRandom.Uniform(key, (uint)index);
        return u * alpha < a ? MathF.CopySign(alpha, x) : 0f;
    }
}
