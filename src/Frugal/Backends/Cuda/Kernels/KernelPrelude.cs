using System.Text;

namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// The CUDA C prepended to every kernel module: op codes generated from the C# enums (so the two cannot drift),
/// the structs of <see cref="FrDims"/> and <see cref="FrWin"/>, NaN-propagating min/max as .NET's MathF.Max/Min and TensorPrimitives
/// (which the CPU backend uses), and shared-memory block reductions.
/// <para>
/// Dialect: plain CUDA C that also compiles as C++ (for the CPU emulator in tools/cuda-emu): no headers (NVRTC has none
/// by default), no warp intrinsics or atomics, infinities built from bits, NaN tested as x != x, fixed-size
/// <c>__shared__</c> arrays, blocks of exactly <see cref="LaunchShape.BlockSize"/> threads.
/// </para>
/// </summary>
public static class KernelPrelude
{
    public static string Text { get; } = Build();

    static string Build()
    {
        var sb = new StringBuilder();
        sb.AppendLine("// Frugal CUDA kernels: prelude (generated in KernelPrelude.cs).");
        sb.AppendLine($"#define FR_BLOCK {LaunchShape.BlockSize}");
        foreach (var v in Enum.GetValues<UnaryOp>()) sb.AppendLine($"#define UOP_{v.ToString().ToUpperInvariant()} {(int)v}");
        foreach (var v in Enum.GetValues<BinaryOp>()) sb.AppendLine($"#define BOP_{v.ToString().ToUpperInvariant()} {(int)v}");
        foreach (var v in Enum.GetValues<ReduceOp>()) sb.AppendLine($"#define ROP_{v.ToString().ToUpperInvariant()} {(int)v}");
        sb.Append(Common);
        return sb.ToString();
    }

    const string Common = """

// Grid-stride loop over [0, n) (64-bit index: n·stride products never overflow).
#define FR_GRID_LOOP(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n); i += (long long)blockDim.x * gridDim.x)

// Dims and two stride vectors (elements; 0 = broadcast), row-major, last axis fastest. Mirrors FrDims.
struct FrDims { int rank; int dim[8]; int a[8]; int b[8]; };

// A 2-D window with its output extent. Mirrors FrWin / Window2d.
struct FrWin { int h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow; };

__device__ __forceinline__ float fr_inf() { return __int_as_float(0x7f800000); }
__device__ __forceinline__ float fr_nan() { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ int fr_imin(int a, int b) { return a < b ? a : b; }
__device__ __forceinline__ int fr_imax(int a, int b) { return a > b ? a : b; }

// MathF.Max / TensorPrimitives.Max: NaN if either is NaN, +0 above -0.
__device__ __forceinline__ float fr_max(float a, float b)
{
    if (a != a) return a;
    if (b != b) return b;
    if (a == b) return __float_as_int(a) < 0 ? b : a;
    return a > b ? a : b;
}

// MathF.Min / TensorPrimitives.Min: NaN if either is NaN, -0 below +0.
__device__ __forceinline__ float fr_min(float a, float b)
{
    if (a != a) return a;
    if (b != b) return b;
    if (a == b) return __float_as_int(a) < 0 ? a : b;
    return a < b ? a : b;
}

__device__ __forceinline__ float fr_reduce_step(int op, float acc, float v)
{
    return op == ROP_SUM ? acc + v : (op == ROP_MAX ? fr_max(acc, v) : fr_min(acc, v));
}

// Tree reductions over one block through a shared array of FR_BLOCK entries; every thread gets the result.
// Ends with a barrier, so the same shared array can serve the next reduction.
__device__ float fr_block_reduce(int op, float v, float* sh)
{
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = FR_BLOCK / 2; s > 0; s >>= 1)
    {
        if (t < s) sh[t] = fr_reduce_step(op, sh[t], sh[t + s]);
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

__device__ __forceinline__ float fr_block_sum(float v, float* sh) { return fr_block_reduce(ROP_SUM, v, sh); }
__device__ __forceinline__ float fr_block_max(float v, float* sh) { return fr_block_reduce(ROP_MAX, v, sh); }

__device__ double fr_block_sum_d(double v, double* sh)
{
    int t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (int s = FR_BLOCK / 2; s > 0; s >>= 1)
    {
        if (t < s) sh[t] = sh[t] + sh[t + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

// CounterRandom.Bits24 (Backends/CounterRandom.cs, recipe in its remarks): 24 random bits for element i of a call
// whose key the host derived from the seed; fmix32 of a Weyl counter, all mod 2^32.
__device__ __forceinline__ unsigned fr_random_bits24(unsigned key, unsigned i)
{
    unsigned h = i * 0x9E3779B9u + key;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h >> 8;
}

// Exact GELU pieces: Φ(x) and φ(x) (PyTorch's default GELU, as GeluMath on the CPU).
__device__ __forceinline__ float fr_gelu_cdf(float x) { return 0.5f * (1.0f + erff(x * 0.70710678118654752f)); }
__device__ __forceinline__ float fr_gelu_pdf(float x) { return 0.39894228040143268f * expf(-0.5f * x * x); }

""";
}
