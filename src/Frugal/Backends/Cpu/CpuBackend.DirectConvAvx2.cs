using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Frugal.Backends.Cpu;

/// <summary>
/// The direct convolution's register tiles for AVX2 + FMA (16 ymm registers), on the same padded-pitch layout as the
/// AVX-512 tiles: a 16-float block of positions is two 256-bit vectors. The forward tile is 4 output channels × 16
/// positions (8 accumulators: the FMA latency × issue width of current cores), the weight-gradient tile 4 output
/// channels × 3 taps (12 accumulators, three shifted input vectors and one dY vector: all 16 registers).
/// </summary>
public sealed partial class CpuBackend
{
    /// <summary>4 output channels × 16 positions: per (ci, tap) two shifted loads, four broadcast weights, 8 FMAs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Tile4x1Avx2(float* x, int ps, int cin, int* offs, int taps, float* w, float* y, int qs,
        float b0, float b1, float b2, float b3)
    {
        Vector256<float> a00 = Vector256.Create(b0), a01 = a00, a10 = Vector256.Create(b1), a11 = a10;
        Vector256<float> a20 = Vector256.Create(b2), a21 = a20, a30 = Vector256.Create(b3), a31 = a30;
        for (int ci = 0; ci < cin; ci++, x += ps)
            for (int t = 0; t < taps; t++, w += ConvCoTile)
            {
                float* p = x + offs[t];
                var x0 = Vector256.Load(p); var x1 = Vector256.Load(p + 8);
                var k = Vector256.Create(w[0]);
                a00 = Fma.MultiplyAdd(k, x0, a00); a01 = Fma.MultiplyAdd(k, x1, a01);
                k = Vector256.Create(w[1]);
                a10 = Fma.MultiplyAdd(k, x0, a10); a11 = Fma.MultiplyAdd(k, x1, a11);
                k = Vector256.Create(w[2]);
                a20 = Fma.MultiplyAdd(k, x0, a20); a21 = Fma.MultiplyAdd(k, x1, a21);
                k = Vector256.Create(w[3]);
                a30 = Fma.MultiplyAdd(k, x0, a30); a31 = Fma.MultiplyAdd(k, x1, a31);
            }
        a00.Store(y); a01.Store(y + 8); y += qs;
        a10.Store(y); a11.Store(y + 8); y += qs;
        a20.Store(y); a21.Store(y + 8); y += qs;
        a30.Store(y); a31.Store(y + 8);
    }

    /// <summary>4 output channels × 3 taps of one input channel, 8 positions a step: three shifted input loads and four
    /// dY loads per 12 FMAs; summed across lanes once per tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void WeightTile4x3Avx2(float* x, int imgX, float* d, int imgQ, int qs, int count, int qv,
        int o0, int o1, int o2, float* acc, int coStride)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a10 = default, a11 = default, a12 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a30 = default, a31 = default, a32 = default;
        for (int i = 0; i < count; i++, x += imgX, d += imgQ)
        {
            float* p0 = x + o0, p1 = x + o1, p2 = x + o2, e0 = p0 + qv * 16, r = d;
            for (; p0 < e0; p0 += 8, p1 += 8, p2 += 8, r += 8)
            {
                var x0 = Vector256.Load(p0); var x1 = Vector256.Load(p1); var x2 = Vector256.Load(p2);
                var dv = Vector256.Load(r);
                a00 = Fma.MultiplyAdd(dv, x0, a00); a01 = Fma.MultiplyAdd(dv, x1, a01); a02 = Fma.MultiplyAdd(dv, x2, a02);
                dv = Vector256.Load(r + qs);
                a10 = Fma.MultiplyAdd(dv, x0, a10); a11 = Fma.MultiplyAdd(dv, x1, a11); a12 = Fma.MultiplyAdd(dv, x2, a12);
                dv = Vector256.Load(r + 2 * qs);
                a20 = Fma.MultiplyAdd(dv, x0, a20); a21 = Fma.MultiplyAdd(dv, x1, a21); a22 = Fma.MultiplyAdd(dv, x2, a22);
                dv = Vector256.Load(r + 3 * qs);
                a30 = Fma.MultiplyAdd(dv, x0, a30); a31 = Fma.MultiplyAdd(dv, x1, a31); a32 = Fma.MultiplyAdd(dv, x2, a32);
            }
        }
        acc[0] += Vector256.Sum(a00); acc[1] += Vector256.Sum(a01); acc[2] += Vector256.Sum(a02); acc += coStride;
        acc[0] += Vector256.Sum(a10); acc[1] += Vector256.Sum(a11); acc[2] += Vector256.Sum(a12); acc += coStride;
        acc[0] += Vector256.Sum(a20); acc[1] += Vector256.Sum(a21); acc[2] += Vector256.Sum(a22); acc += coStride;
        acc[0] += Vector256.Sum(a30); acc[1] += Vector256.Sum(a31); acc[2] += Vector256.Sum(a32);
    }

    /// <summary>The remaining taps when the kernel's tap count is not a multiple of 3: 4 output channels × 1 tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void WeightTile4x1Avx2(float* x, int imgX, float* d, int imgQ, int qs, int count, int qv, int o, float* acc, int coStride)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        for (int i = 0; i < count; i++, x += imgX, d += imgQ)
            for (int q = 0; q < qv * 16; q += 8)
            {
                var x0 = Vector256.Load(x + q + o);
                a0 = Fma.MultiplyAdd(Vector256.Load(d + q), x0, a0);
                a1 = Fma.MultiplyAdd(Vector256.Load(d + qs + q), x0, a1);
                a2 = Fma.MultiplyAdd(Vector256.Load(d + 2 * qs + q), x0, a2);
                a3 = Fma.MultiplyAdd(Vector256.Load(d + 3 * qs + q), x0, a3);
            }
        acc[0] += Vector256.Sum(a0); acc[coStride] += Vector256.Sum(a1); acc[2 * coStride] += Vector256.Sum(a2); acc[3 * coStride] += Vector256.Sum(a3);
    }
}
