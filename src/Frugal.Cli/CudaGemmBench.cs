using System.Diagnostics;
using Frugal.Backends.Cuda;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>`frugal bench gemm --device cuda`: TFLOP/s of Frugal's matmul on cuBLAS, FP32 and TF32, square sizes and the
/// training shapes of the reference models (the probe measured 51.6 FP32 / 453 TF32 TFLOP/s at 8192³ on an H100).</summary>
static class CudaGemmBench
{
    public static void Run(Device device, int[] sizes)
    {
        var cuda = (CudaBackend)Backends.BackendRegistry.Get(device);
        Console.WriteLine($"device: {cuda.Description}");
        Console.WriteLine($"{"m x n x k",-22} {"FP32 TFLOP/s",13} {"TF32 TFLOP/s",13}");
        var shapes = sizes.Select(s => (s, s, s)).Concat([(128, 1024, 784), (128, 784, 1024), (32, 25088, 288), (64, 6272, 576)]);
        foreach (var (m, n, k) in shapes)
        {
            var a = Tensor.Randn(new Shape(m, k), new Generator(1), device);
            var b = Tensor.Randn(new Shape(k, n), new Generator(2), device);
            double flops = 2.0 * m * n * k;
            var t = new double[2];
            for (int mode = 0; mode < 2; mode++)
            {
                cuda.SetTf32(mode == 1);
                a.Matmul(b);   // warm-up
                int reps = (int)Math.Clamp(5e12 / flops, 3, 2000);
                double best = double.MaxValue;
                for (int round = 0; round < 3; round++)
                {
                    cuda.Synchronize();
                    var sw = Stopwatch.StartNew();
                    for (int r = 0; r < reps; r++) a.Matmul(b);
                    cuda.Synchronize();
                    best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
                }
                t[mode] = best;
            }
            cuda.SetTf32(CudaOptions.AllowTf32);
            Console.WriteLine($"{$"{m} x {n} x {k}",-22} {flops / t[0] / 1e12,13:F1} {flops / t[1] / 1e12,13:F1}");
        }
    }
}
