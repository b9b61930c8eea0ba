using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// The CPU backend: GEMM on OpenBLAS (managed SIMD fallback), element-wise work and reductions on
/// TensorPrimitives and the operator structs of Operators.cs, under one <see cref="Threading"/> policy.
/// Partial: op families add their kernels in files of their own.
/// </summary>
public sealed partial class CpuBackend : IBackend
{
    public static CpuBackend Instance { get; } = new();
    public Device Device => Device.Cpu;

    static bool _warned;

    CpuBackend() { }

    /// <summary>Where GEMMs go: "OpenBLAS (libopenblas.so.0)" or the managed fallback.</summary>
    public static string GemmProvider => OpenBlas.Available ? $"OpenBLAS ({OpenBlas.LoadedFrom}, {OpenBlas.CoreName ?? "unknown"} kernels)" : "managed SIMD fallback";

    public string Description => $"cpu: GEMM on {GemmProvider}";

    public IDisposable BeginStep() => BufferPool.BeginStep();

    public void Synchronize() { }
    public void EmptyCache() => BufferPool.EmptyCache();

    public Storage Allocate(int length) => BufferPool.Allocate(length, zero: true);

    public Storage AllocateUninitialized(int length) => BufferPool.Allocate(length, zero: false);

    internal static float[] Data(Tensor t) => ((CpuStorage)t.Storage).Data;

    /// <summary>A kernel's per-thread scratch (a [ThreadStatic] field), grown to at least <paramref name="length"/>
    /// floats and kept: contents unspecified.</summary>
    static float[] ThreadScratch(ref float[]? buffer, int length)
    {
        if (buffer == null || buffer.Length < length) buffer = GC.AllocateUninitializedArray<float>(length, pinned: true);
        return buffer;
    }
    internal static Span<float> Span(Tensor t) => Data(t).AsSpan(t.Offset, t.Numel);

    public void Upload(ReadOnlySpan<float> source, Storage destination, int offset) =>
        source.CopyTo(((CpuStorage)destination).Data.AsSpan(offset, source.Length));

    public void Download(Storage source, int offset, Span<float> destination) =>
        ((CpuStorage)source).Data.AsSpan(offset, destination.Length).CopyTo(destination);

    public void Fill(Tensor y, float value) => Span(y).Fill(value);

    public void CopyBlocks(Tensor src, int srcOffset, int srcStride, Tensor dst, int dstOffset, int dstStride, int blockLength, int count)
    {
        var s = Data(src); var d = Data(dst);
        int so = src.Offset + srcOffset, dO = dst.Offset + dstOffset;
        for (int i = 0; i < count; i++)
            Array.Copy(s, so + i * srcStride, d, dO + i * dstStride, blockLength);
    }

    public void Permute(Tensor x, int[] perm, Tensor y)
    {
        int r = perm.Length;
        var xs = x.Shape;
        var xStride = new int[r];
        for (int i = r - 1, s = 1; i >= 0; i--) { xStride[i] = s; s *= xs[i]; }
        // Walk y in order; the source index advances by the permuted strides (an odometer over y's axes).
        var dims = new int[r]; var step = new int[r];
        for (int i = 0; i < r; i++) { dims[i] = xs[perm[i]]; step[i] = xStride[perm[i]]; }
        var src = Data(x); var dst = Data(y);
        int n = y.Numel, inner = r == 0 ? 1 : dims[r - 1], innerStep = r == 0 ? 0 : step[r - 1];
        if (n == 0) return;
        var idx = new int[r];
        int so = x.Offset;
        for (int o = y.Offset, end = y.Offset + n; o < end; o += inner)
        {
            for (int j = 0, s = so; j < inner; j++, s += innerStep) dst[o + j] = src[s];
            for (int a = r - 2; a >= 0; a--)
            {
                so += step[a];
                if (++idx[a] < dims[a]) break;
                so -= step[a] * dims[a];
                idx[a] = 0;
            }
        }
    }

    public void Map(UnaryOp op, Tensor x, Tensor y, float a = 0, float b = 0)
    {
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        Action<int, int> body = (s, e) =>
        {
            ReadOnlySpan<float> xs = xd.AsSpan(xo + s, e - s);
            Span<float> ys = yd.AsSpan(yo + s, e - s);
            switch (op)
            {
                case UnaryOp.Copy: xs.CopyTo(ys); break;
                case UnaryOp.Neg: TensorPrimitives.Negate(xs, ys); break;
                case UnaryOp.Exp: TensorPrimitives.Exp(xs, ys); break;
                case UnaryOp.Log: TensorPrimitives.Log(xs, ys); break;
                case UnaryOp.Abs: TensorPrimitives.Abs(xs, ys); break;
                case UnaryOp.Sign: Simd.Map<SignOperator>(xs, ys); break;
                case UnaryOp.Sqrt: TensorPrimitives.Sqrt(xs, ys); break;
                case UnaryOp.Square: TensorPrimitives.Multiply(xs, xs, ys); break;
                case UnaryOp.Reciprocal: TensorPrimitives.Divide(1f, xs, ys); break;
                case UnaryOp.Relu: Simd.Map<ReluOperator>(xs, ys); break;
                case UnaryOp.Tanh: TensorPrimitives.Tanh(xs, ys); break;
                case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(xs, ys); break;
                case UnaryOp.Gelu: for (int i = 0; i < xs.Length; i++) ys[i] = GeluMath.Gelu(xs[i]); break;
                case UnaryOp.LeakyRelu: Simd.Map<LeakyReluOperator>(xs, ys, a); break;
                case UnaryOp.Affine: Simd.Map<AffineOperator>(xs, ys, a, b); break;
                case UnaryOp.Pow: TensorPrimitives.Pow(xs, a, ys); break;
                case UnaryOp.Clamp: Simd.Map<ClampOperator>(xs, ys, a, b); break;
                case UnaryOp.GreaterThan: Simd.Map<GreaterThanOperator>(xs, ys, a); break;
                default: throw new NotSupportedException($"map: {op} is not implemented on the CPU backend");
            }
        };
        // Transcendental maps cost tens of cycles per element; the rest stream memory (Threading.StreamingThreshold).
        if (op is UnaryOp.Exp or UnaryOp.Log or UnaryOp.Tanh or UnaryOp.Sigmoid or UnaryOp.Gelu or UnaryOp.Pow) Threading.For(y.Numel, body);
        else Threading.ForStreaming(y.Numel, body);
    }

    public void Zip(BinaryOp op, Tensor a, Tensor b, Tensor y)
    {
        switch (op)
        {
            case BinaryOp.Add: Broadcast.Zip<AddOperator>(a, b, y); break;
            case BinaryOp.Sub: Broadcast.Zip<SubOperator>(a, b, y); break;
            case BinaryOp.Mul: Broadcast.Zip<MulOperator>(a, b, y); break;
            case BinaryOp.Div: Broadcast.Zip<DivOperator>(a, b, y); break;
            case BinaryOp.Max: Broadcast.Zip<MaxOperator>(a, b, y); break;
            case BinaryOp.Min: Broadcast.Zip<MinOperator>(a, b, y); break;
            case BinaryOp.ReluBackward: Broadcast.Zip<ReluBackwardOperator>(a, b, y); break;
            case BinaryOp.TanhBackward: Broadcast.Zip<TanhBackwardOperator>(a, b, y); break;
            case BinaryOp.SigmoidBackward: Broadcast.Zip<SigmoidBackwardOperator>(a, b, y); break;
            case BinaryOp.GeluBackward: Broadcast.Zip<GeluBackwardOperator>(a, b, y); break;
            default: throw new NotSupportedException($"zip: {op} is not implemented on the CPU backend");
        }
    }

    public void Reduce(ReduceOp op, Tensor x, int outer, int mid, int inner, Tensor y)
    {
        var xd = Data(x); var yd = Data(y);
        int xo = x.Offset, yo = y.Offset;
        if (mid == 0) { Fill(y, op == ReduceOp.Sum ? 0 : op == ReduceOp.Max ? float.NegativeInfinity : float.PositiveInfinity); return; }
        // Parallel over the outer axis when there is enough work per chunk.
        int grain = Math.Max(1, Threading.ParallelThreshold / Math.Max(1, mid * inner));
        Threading.For(outer, (o0, o1) =>
        {
            for (int o = o0; o < o1; o++)
            {
                int xb = xo + o * mid * inner;
                if (inner == 1)
                {
                    var row = xd.AsSpan(xb, mid);
                    yd[yo + o] = op switch
                    {
                        ReduceOp.Sum => TensorPrimitives.Sum<float>(row),
                        ReduceOp.Max => TensorPrimitives.Max<float>(row),
                        _ => TensorPrimitives.Min<float>(row),
                    };
                    continue;
                }
                var acc = yd.AsSpan(yo + o * inner, inner);
                xd.AsSpan(xb, inner).CopyTo(acc);
                for (int m = 1; m < mid; m++)
                {
                    var row = xd.AsSpan(xb + m * inner, inner);
                    switch (op)
                    {
                        case ReduceOp.Sum: TensorPrimitives.Add(acc, row, acc); break;
                        case ReduceOp.Max: TensorPrimitives.Max(acc, row, acc); break;
                        default: TensorPrimitives.Min(acc, row, acc); break;
                    }
                }
            }
        }, grain);
    }

    public int[] ArgMax(Tensor x, int outer, int mid, int inner)
    {
        var xd = Data(x);
        var res = new int[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = x.Offset + o * mid * inner + i, best = 0;
                float bv = float.NegativeInfinity;
                for (int m = 0; m < mid; m++)
                {
                    float v = xd[b + m * inner];
                    if (v > bv || float.IsNaN(v)) { bv = v; best = m; if (float.IsNaN(v)) break; }
                }
                res[o * inner + i] = best;
            }
        return res;
    }

    public unsafe void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        Tensor a, int offsetA, int lda, int strideA, Tensor b, int offsetB, int ldb, int strideB,
        float beta, Tensor c, int offsetC, int ldc, int strideC, int batch = 1)
    {
        if (m == 0 || n == 0) return;
        if (!OpenBlas.Available && !_warned)
        {
            _warned = true;
            Console.Error.WriteLine("frugal: warning: OpenBLAS not found; using the slow managed GEMM. Install it with: apt-get install libopenblas0-pthread");
        }
        fixed (float* pa = Data(a), pb = Data(b), pc = Data(c))
        {
            for (int i = 0; i < batch; i++)
            {
                float* ai = pa + a.Offset + offsetA + (long)i * strideA;
                float* bi = pb + b.Offset + offsetB + (long)i * strideB;
                float* ci = pc + c.Offset + offsetC + (long)i * strideC;
                if (k == 0)
                {
                    // BLAS leaves C untouched when k = 0 only if beta = 1; make the result explicit.
                    for (int r = 0; r < m; r++)
                        for (int j = 0; j < n; j++) ci[(long)r * ldc + j] = beta == 0 ? 0 : beta * ci[(long)r * ldc + j];
                    continue;
                }
                if (OpenBlas.Available) OpenBlas.Sgemm(transA, transB, m, n, k, alpha, ai, lda, bi, ldb, beta, ci, ldc);
                else ManagedGemm.Sgemm(transA, transB, m, n, k, alpha, ai, lda, bi, ldb, beta, ci, ldc);
            }
        }
    }
}
