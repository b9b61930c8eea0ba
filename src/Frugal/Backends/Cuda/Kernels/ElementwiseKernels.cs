namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Element-wise kernels: Map and Zip (with NumPy broadcasting through collapsed strides, as Cpu/Broadcast.cs), block
/// copies, permute, the leaky-ReLU backward and the k = 0 GEMM scaling. Each op's formula is the CPU operator
/// struct's scalar reference (Cpu/Operators.cs, CpuBackend.Map).
/// </summary>
public static class ElementwiseKernels
{
    public static KernelModule Module { get; } = new("elementwise", Source);

    const string Source = """
__device__ float fr_unary(int op, float x, float a, float b)
{
    switch (op)
    {
        case UOP_COPY: return x;
        case UOP_NEG: return -x;
        case UOP_EXP: return expf(x);
        case UOP_LOG: return logf(x);
        case UOP_ABS: return fabsf(x);
        case UOP_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
        case UOP_SQRT: return sqrtf(x);
        case UOP_SQUARE: return x * x;
        case UOP_RECIPROCAL: return 1.0f / x;
        case UOP_RELU: return fr_max(x, 0.0f);
        case UOP_TANH: return tanhf(x);
        case UOP_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case UOP_GELU: return x * fr_gelu_cdf(x);
        case UOP_LEAKYRELU: return x > 0.0f ? x : a * x;
        case UOP_AFFINE: return a * x + b;
        case UOP_POW: return powf(x, a);
        case UOP_CLAMP: return fr_min(fr_max(x, a), b);
        case UOP_GREATERTHAN: return x > a ? 1.0f : 0.0f;
    }
    return fr_nan();
}

// (p, q): the operands; the *Backward ops take (forward x or y, upstream gradient g).
__device__ float fr_binary(int op, float p, float q)
{
    switch (op)
    {
        case BOP_ADD: return p + q;
        case BOP_SUB: return p - q;
        case BOP_MUL: return p * q;
        case BOP_DIV: return p / q;
        case BOP_MAX: return fr_max(p, q);
        case BOP_MIN: return fr_min(p, q);
        case BOP_RELUBACKWARD: return p > 0.0f ? q : 0.0f;
        case BOP_TANHBACKWARD: return q * (1.0f - p * p);
        case BOP_SIGMOIDBACKWARD: return q * p * (1.0f - p);
        case BOP_GELUBACKWARD: return q * (fr_gelu_cdf(p) + p * fr_gelu_pdf(p));
    }
    return fr_nan();
}

// y = op(x) element-wise; y may be x.
extern "C" __global__ void fr_map(const float* x, float* y, int n, int op, float a, float b)
{
    FR_GRID_LOOP(i, n) y[i] = fr_unary(op, x[i], a, b);
}

// y[i] = op(a[·], b[·]) where i's coordinate over s.dim picks a's and b's elements by the strides s.a, s.b.
extern "C" __global__ void fr_zip(const float* a, const float* b, float* y, int n, int op, FrDims s)
{
    FR_GRID_LOOP(i, n)
    {
        long long r = i, oa = 0, ob = 0;
        for (int d = s.rank - 1; d >= 0; d--)
        {
            long long c = r % s.dim[d];
            r /= s.dim[d];
            oa += c * s.a[d];
            ob += c * s.b[d];
        }
        y[i] = fr_binary(op, a[oa], b[ob]);
    }
}

// Same-shape fast path of fr_zip.
extern "C" __global__ void fr_zip_same(const float* a, const float* b, float* y, int n, int op)
{
    FR_GRID_LOOP(i, n) y[i] = fr_binary(op, a[i], b[i]);
}

// count blocks of len floats: block k from s + k·ss to d + k·ds (ss may be 0: one block broadcast).
extern "C" __global__ void fr_copy_blocks(const float* s, int ss, float* d, int ds, int len, int total)
{
    FR_GRID_LOOP(i, total)
    {
        long long k = i / len, j = i - k * len;
        d[k * ds + j] = s[k * ss + j];
    }
}

// y[o] = x[Σ_d c_d·s.a[d]], c = coordinate of o over y's dims s.dim (s.a: x's strides, permuted).
extern "C" __global__ void fr_permute(const float* x, float* y, int n, FrDims s)
{
    FR_GRID_LOOP(i, n)
    {
        long long r = i, o = 0;
        for (int d = s.rank - 1; d >= 0; d--)
        {
            long long c = r % s.dim[d];
            r /= s.dim[d];
            o += c * s.a[d];
        }
        y[i] = x[o];
    }
}

extern "C" __global__ void fr_leaky_relu_backward(const float* x, const float* g, float* gx, int n, float slope)
{
    FR_GRID_LOOP(i, n) gx[i] = x[i] > 0.0f ? g[i] : slope * g[i];
}

// C = beta·C over rows × cols with leading dimension ld (a GEMM with k = 0); beta = 0 writes zeros (no NaN·0).
extern "C" __global__ void fr_scale_matrix(float* c, int rows, int cols, int ld, float beta)
{
    FR_GRID_LOOP(i, (long long)rows * cols)
    {
        long long r = i / cols, j = i - r * cols;
        float* p = c + r * ld + j;
        *p = beta == 0.0f ? 0.0f : beta * *p;
    }
}
""";
}
