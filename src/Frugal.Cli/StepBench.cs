using System.Diagnostics;
using Frugal.Autograd;
using Frugal.Models;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>`frugal bench step`: where a training step's time goes (the profile issue 3 asks for when a target is missed).</summary>
static class StepBench
{
    public static void Run(string modelName, int batch, int steps, Device device)
    {
        using var pool = Backends.Cpu.BufferPool.Enable();
        var model = ModelZoo.Build(modelName).To(device);
        var opt = new Sgd(model.Parameters(), 0.05, momentum: 0.9, weightDecay: 5e-4);
        var g = new Generator(1);
        var x = Tensor.Randn(new Shape(batch, 1, 28, 28), g, device);
        var y = Enumerable.Range(0, batch).Select(i => g.NextInt(10)).ToArray();
        double fwd = 0, bwd = 0, upd = 0;
        int gc0 = 0, gc1 = 0, gc2 = 0;
        TimeSpan pause = default;
        for (int s = -3; s < steps; s++)
        {
            if (s == 0)
            {
                Profiler.Enabled = true; Profiler.Reset();
                gc0 = GC.CollectionCount(0); gc1 = GC.CollectionCount(1); gc2 = GC.CollectionCount(2);
                pause = GC.GetTotalPauseDuration();
            }
            // On a GPU each phase is timed to the end of its kernels (a synchronisation per phase: slightly pessimistic).
            var scope = DeviceSync.Step(device);
            long t0 = Stopwatch.GetTimestamp();
            var loss = model.Forward(x).CrossEntropy(y);
            DeviceSync.Wait(device);
            long t1 = Stopwatch.GetTimestamp();
            opt.ZeroGrad();
            loss.Backward();
            DeviceSync.Wait(device);
            long t2 = Stopwatch.GetTimestamp();
            opt.Step();
            loss = null!;
            Backends.Cpu.BufferPool.Recycle();
            scope?.Dispose();
            DeviceSync.Wait(device);
            long t3 = Stopwatch.GetTimestamp();
            if (s >= 0)
            {
                fwd += Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds;
                bwd += Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds;
                upd += Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds;
            }
        }
        Profiler.Enabled = false;
        double total = fwd + bwd + upd;
        Console.WriteLine($"{modelName} on {device}, batch {batch}, {steps} steps: {total / steps:F2} ms/step = {batch * steps / (total / 1000):F0} samples/s");
        Console.WriteLine($"  forward {fwd / steps:F2} ms, backward {bwd / steps:F2} ms, optimizer + buffer recycling {upd / steps:F2} ms");
        Console.WriteLine($"  GCs gen0/1/2: {GC.CollectionCount(0) - gc0}/{GC.CollectionCount(1) - gc1}/{GC.CollectionCount(2) - gc2}, GC pause {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds / steps:F2} ms/step");
        foreach (var (k, v) in Profiler.Snapshot().OrderByDescending(p => p.Value.Ms))
            Console.WriteLine($"  {k,-34} {v.Ms / steps,8:F2} ms/step  ({v.Calls / steps} calls)");
    }
}
