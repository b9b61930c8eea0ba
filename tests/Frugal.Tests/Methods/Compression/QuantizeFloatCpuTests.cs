using Frugal.Backends;
using Frugal.Backends.Cpu;
using Frugal.Methods.Compression;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Compression;

/// <summary>The CPU kernel's SIMD body and thread split against the scalar reference <see cref="FloatRounding.Quantize"/>.</summary>
public class QuantizeFloatCpuTests
{
    static readonly (int E, int M, bool InfNaN)[] Formats =
        [(1, 2, true), (1, 6, false), (2, 3, true), (3, 2, true), (4, 3, false), (5, 2, true), (6, 1, true), (7, 8, false), (5, 10, true), (8, 7, true)];

    internal static float[] Data(int n, ulong seed)
    {
        var g = new Generator(seed);
        var v = new float[n];
        // Magnitudes 2^−40 … 2^40 with random signs; every third an odd integer below 256 times a power of two,
        // which is an exact tie of every format whose mantissa is two bits shorter than the integer.
        for (int i = 0; i < n; i++)
            v[i] = (float)((i % 3 == 0 ? (2 * g.NextInt(128) + 1) * Math.Pow(2, g.NextInt(80) - 40) : Math.Pow(2, 80 * g.NextDouble() - 40))
                           * (g.NextDouble() < 0.5 ? -1 : 1));
        if (n > 6) { v[0] = 0; v[1] = -0f; v[2] = float.NaN; v[3] = float.PositiveInfinity; v[4] = float.Epsilon; v[5] = float.MaxValue; }
        return v;
    }

    [Fact]
    public void Simd_body_matches_the_scalar_reference_on_odd_lengths()
    {
        foreach (var (e, m, infNaN) in Formats)
            foreach (bool stochastic in new[] { false, true })
                foreach (float scale in new[] { 1f, 0.375f, 1024f })
                    foreach (int n in new[] { 0, 1, 7, 33, 1000 })
                    {
                        var x = Data(n, (ulong)(n + e));
                        var spec = new FloatRounding.Spec(e, m, infNaN, scale, stochastic, 77);
                        var y = new float[n];
                        int done = e < 8 ? CpuBackend.QuantizeVectors(x, y, 100, spec) : 0;
                        for (int i = done; i < n; i++) y[i] = FloatRounding.Quantize(x[i], spec, (uint)(100 + i));
                        for (int i = 0; i < n; i++)
                        {
                            float r = FloatRounding.Quantize(x[i], spec, (uint)(100 + i));
                            Assert.True(BitConverter.SingleToUInt32Bits(r) == BitConverter.SingleToUInt32Bits(y[i]) || (float.IsNaN(r) && float.IsNaN(y[i])),
                                $"e{e}m{m} {(infNaN ? "" : "fn")} stochastic={stochastic} scale={scale} x={x[i]:R}: simd {y[i]:R}, scalar {r:R}");
                        }
                    }
    }

    [Fact]
    public void Threaded_kernel_matches_the_scalar_reference_element_by_element()
    {
        int n = 3 * Threading.ParallelThreshold + 5;   // several chunks
        var x = Data(n, 3);
        foreach (bool stochastic in new[] { false, true })
        {
            var y = Tensor.FromArray(x, new Shape(n)).QuantizeFloat(FloatFormat.E4M3FN, stochastic ? Frugal.Ops.Rounding.Stochastic : Frugal.Ops.Rounding.NearestEven, 2, 123).ToArray();
            var spec = new FloatRounding.Spec(4, 3, false, 2, stochastic, 123);
            for (int i = 0; i < n; i++)
            {
                float r = FloatRounding.Quantize(x[i], spec, (uint)i);
                Assert.True(r.Equals(y[i]), $"element {i}: kernel {y[i]:R}, reference {r:R}");
            }
        }
    }
}
