using System.Diagnostics;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>`frugal bench conv`: forward and backward time of the reference CNN's conv layers (batch 128, 3×3, padding 1).</summary>
static class ConvBench
{
    static readonly (int Cin, int Cout, int Hw)[] Layers = [(1, 32, 28), (32, 32, 28), (32, 64, 14), (64, 64, 14)];

    public static void Run(int batch, int reps)
    {
        using var pool = Backends.Cpu.BufferPool.Enable();
        Console.WriteLine($"{"layer",-22} {"fwd ms",8} {"fwd GFLOP/s",12} {"bwd ms",8} {"bwd GFLOP/s",12}");
        foreach (var (cin, cout, hw) in Layers)
        {
            var g = new Generator(1);
            var x = Tensor.Randn(new Shape(batch, cin, hw, hw), g);
            x.RequiresGrad = cin > 1;   // the first layer's input needs no gradient, as in training
            var w = Tensor.Randn(new Shape(cout, cin, 3, 3), g);
            w.RequiresGrad = true;
            var gy = Tensor.Randn(new Shape(batch, cout, hw, hw), g);
            double macs = (double)batch * hw * hw * cout * cin * 9;
            double bestF = double.MaxValue, bestB = double.MaxValue;
            for (int r = 0; r < reps + 2; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                var y = x.Conv2d(w, padding: 1);
                long t1 = Stopwatch.GetTimestamp();
                y.Backward(gy);
                long t2 = Stopwatch.GetTimestamp();
                x.Grad = null; w.Grad = null; y = null!;
                Backends.Cpu.BufferPool.Recycle();
                if (r < 2) continue;   // warm-up (JIT, buffers)
                bestF = Math.Min(bestF, Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                bestB = Math.Min(bestB, Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
            }
            double bwdFlops = 2 * macs * (cin > 1 ? 2 : 1);
            Console.WriteLine($"{$"{cin}->{cout} {hw}x{hw}",-22} {bestF,8:F2} {2 * macs / bestF / 1e6,12:F1} {bestB,8:F2} {bwdFlops / bestB / 1e6,12:F1}");
        }
    }
}
