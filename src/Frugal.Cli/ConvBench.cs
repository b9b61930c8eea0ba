using System.Diagnostics;
using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>
/// `frugal bench conv`: forward and backward time of the reference CNN's conv layers (batch 128, 3×3, padding 1); with
/// --approx, the column-row-sampled layer (forward mode) timed alternately with the exact one, and the speed-up; otherwise,
/// where the backend's direct kernel runs, the same layer through im2col + GEMM alternately, and the direct kernel's speed-up.
/// </summary>
static class ConvBench
{
    static readonly (int Cin, int Cout, int Hw)[] Layers = [(1, 32, 28), (32, 32, 28), (32, 64, 14), (64, 64, 14)];

    public static void Run(int batch, int reps, string? approx, double keep, string mode)
    {
        using var pool = Backends.Cpu.BufferPool.Enable();
        bool direct = approx == null && Backends.Cpu.CpuBackend.DirectConvApplies(new Backends.Window2d(28, 28, 3, 3, PadH: 1, PadW: 1));
        Console.WriteLine($"{"layer",-22} {"fwd ms",8} {"fwd GFLOP/s",12} {"bwd ms",8} {"bwd GFLOP/s",12}" +
            (approx != null ? $" {"approx fwd",11} {"approx bwd",11} {"speed-up",9}" : "") +
            (direct ? $" {"im2col fwd",11} {"im2col bwd",11} {"direct speed-up",16}" : ""));
        foreach (var (cin, cout, hw) in Layers)
        {
            var g = new Generator(1);
            var x = Tensor.Randn(new Shape(batch, cin, hw, hw), g);
            x.RequiresGrad = cin > 1;   // the first layer's input needs no gradient, as in training
            var conv = new Conv2d(cin, cout, 3, padding: 1, bias: false, generator: g);
            Module? sampled = approx == null ? null
                : new ApproxConv2d(conv, new ApproxSettings(Samplers.Create(Frugal.Options.EnumNames<SamplerKind>.Parse(approx, "--approx")), keep, 1, Frugal.Options.EnumNames<ApproxMode>.Parse(mode, "--approx-mode")), new Generator(2));
            var gy = Tensor.Randn(new Shape(batch, cout, hw, hw), g);
            double macs = (double)batch * hw * hw * cout * cin * 9;
            var best = new double[4];
            Array.Fill(best, double.MaxValue);
            for (int r = 0; r < reps + 2; r++)
                for (int j = 0; j < (sampled != null || direct ? 2 : 1); j++)
                {
                    var layer = j == 0 || sampled == null ? conv : sampled;
                    // Without --approx, the second layer of each round is the same conv through im2col + GEMM.
                    Backends.Cpu.CpuBackend.DirectConvEnabled = !(direct && j == 1);
                    long t0 = Stopwatch.GetTimestamp();
                    var y = layer.Call(x);
                    long t1 = Stopwatch.GetTimestamp();
                    y.Backward(gy);
                    long t2 = Stopwatch.GetTimestamp();
                    x.Grad = null; conv.Weight.Grad = null; y = null!;
                    Backends.Cpu.BufferPool.Recycle();
                    if (r < 2) continue;   // warm-up (JIT, buffers)
                    best[2 * j] = Math.Min(best[2 * j], Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                    best[2 * j + 1] = Math.Min(best[2 * j + 1], Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds);
                }
            double bwdFlops = 2 * macs * (cin > 1 ? 2 : 1);
            Console.WriteLine($"{$"{cin}->{cout} {hw}x{hw}",-22} {best[0],8:F2} {2 * macs / best[0] / 1e6,12:F1} {best[1],8:F2} {bwdFlops / best[1] / 1e6,12:F1}" +
                (sampled != null ? $" {best[2],11:F2} {best[3],11:F2} {(best[0] + best[1]) / (best[2] + best[3]),8:F2}x" : "") +
                (direct ? $" {best[2],11:F2} {best[3],11:F2} {(best[2] + best[3]) / (best[0] + best[1]),15:F2}x" : ""));
            Backends.Cpu.CpuBackend.DirectConvEnabled = true;
        }
    }
}
