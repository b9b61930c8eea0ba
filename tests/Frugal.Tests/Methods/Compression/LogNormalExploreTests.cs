using System.Diagnostics;
using Frugal.Methods.Compression;
using Frugal.Ops;
using Frugal.Tensors;
using Xunit.Abstractions;

namespace Frugal.Tests.Methods.Compression;

public class LogNormalExploreTests(ITestOutputHelper o)
{
    [Fact]
    public void Cost()
    {
        using var pool = Frugal.Backends.Cpu.BufferPool.Enable();
        var g = Tensor.FromArray(LogNormalSamples.Make(128 * 32 * 28 * 28, -9, 2, 3), new Shape(128, 32, 28, 28));
        double Time(Action a, int reps = 20)
        {
            for (int i = 0; i < 3; i++) a();
            double best = 1e9;
            for (int i = 0; i < reps; i++) { var sw = Stopwatch.StartNew(); a(); best = Math.Min(best, sw.Elapsed.TotalMilliseconds); }
            return best;
        }
        o.WriteLine($"fit: {Time(() => GradientStatistics.Fit(g, 1)):F2} ms");
        var sample = new float[65536].Select((_, i) => g.Span[i * 49]).ToArray();
        var logs = sample.Select(v => (double)v).ToArray();
        o.WriteLine($"log only: {Time(() => { double s = 0; foreach (var v in sample) s += Math.Log(Math.Abs(v)); }):F2} ms");
        o.WriteLine($"sort 16k: {Time(() => { var c = logs[..16384].ToArray(); Array.Sort(c); }):F2} ms");
        o.WriteLine($"cdf 16k: {Time(() => { double s = 0; for (int i = 0; i < 16384; i++) s += MathNet.Numerics.Distributions.Normal.CDF(0, 1, logs[i]); }):F2} ms");
        o.WriteLine($"laplace 16k: {Time(() => { double s = 0; for (int i = 0; i < 16384; i++) s += MathNet.Numerics.Distributions.Laplace.CDF(0, 1, logs[i]); }):F2} ms");
        o.WriteLine($"normal(m,s) 16k: {Time(() => { double s = 0; for (int i = 0; i < 16384; i++) s += MathNet.Numerics.Distributions.Normal.CDF(1e-6, 3e-5, logs[i]); }):F2} ms");
        o.WriteLine($"ks 16k: {Time(() => GradientStatistics.KolmogorovSmirnov(logs[..16384], z => MathNet.Numerics.Distributions.Normal.CDF(0, 1, z))):F2} ms");
        o.WriteLine($"indices: {Time(() => GradientStatistics.StratifiedIndices(g.Numel, 65536, 3)):F2} ms");
        o.WriteLine($"gather: {Time(() => g.View(new Shape(g.Numel)).IndexSelect(0, GradientStatistics.StratifiedIndices(g.Numel, 65536, 3))):F2} ms");
        o.WriteLine($"fit sample only: {Time(() => GradientStatistics.FitSample(new float[65536].Select((_, i) => g.Span[i * 49] ).ToArray())):F2} ms");
        o.WriteLine($"toarray: {Time(() => g.ToArray()):F2} ms");
        o.WriteLine($"stochastic prune: {Time(() => g.PruneStochastic(1e-5f, 3)):F2} ms");
        o.WriteLine($"threshold prune: {Time(() => g.PruneThreshold(1e-5f)):F2} ms");
        o.WriteLine($"topk: {Time(() => g.PruneTopK(400000), 5):F2} ms");
        o.WriteLine($"copy (relu-like pass): {Time(() => g.Relu()):F2} ms");
    }
}
