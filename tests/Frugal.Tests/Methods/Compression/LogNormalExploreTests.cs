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
        double Time(Action a, int reps = 30)
        {
            for (int i = 0; i < 3; i++) a();
            var p = Process.GetCurrentProcess();
            p.Refresh();
            var c0 = p.TotalProcessorTime;
            for (int i = 0; i < reps; i++) a();
            p.Refresh();
            return (p.TotalProcessorTime - c0).TotalMilliseconds / reps;
        }
        var sample = GradientStatistics.Sample(g, 1);
        o.WriteLine($"sample (gather 65536): {Time(() => GradientStatistics.Sample(g, 1)):F2} ms");
        o.WriteLine($"fit without KS: {Time(() => GradientStatistics.FitSample(sample, false)):F2} ms");
        o.WriteLine($"fit with KS: {Time(() => GradientStatistics.FitSample(sample, true)):F2} ms");
        var sub = sample.Where((v, i) => i % 4 == 0).Select(v => (double)v).ToArray();
        var logs = sub.Select(v => Math.Log(Math.Abs(v))).ToArray();
        o.WriteLine($"sort 16k logs: {Time(() => { var c = (double[])logs.Clone(); Array.Sort(c); }):F2} ms");
        o.WriteLine($"sort 16k g: {Time(() => { var c = (double[])sub.Clone(); Array.Sort(c); }):F2} ms");
        var sorted = (double[])sub.Clone(); Array.Sort(sorted);
        o.WriteLine($"ks normal(m,s): {Time(() => GradientStatistics.KolmogorovSmirnov(sorted, v => MathNet.Numerics.Distributions.Normal.CDF(0, 1e-4, v))):F2} ms");
        o.WriteLine($"ks laplace: {Time(() => GradientStatistics.KolmogorovSmirnov(sorted, v => MathNet.Numerics.Distributions.Laplace.CDF(0, 1e-4, v))):F2} ms");
        o.WriteLine($"closed-form threshold: {Time(() => LogNormal.ThresholdForSparsity(0.85, -9, 2)):F3} ms");
        o.WriteLine($"empirical threshold: {Time(() => EmpiricalThreshold.Stochastic(sample, 0.85)):F2} ms");
        o.WriteLine($"stochastic prune + stats: {Time(() => g.PruneStochastic(1e-5f, 3)):F2} ms");
        o.WriteLine($"threshold prune + stats: {Time(() => g.PruneThreshold(1e-5f)):F2} ms");
        o.WriteLine($"topk: {Time(() => g.PruneTopK(400000), 10):F2} ms");
        o.WriteLine($"relu (one element-wise pass, reference): {Time(() => g.Relu()):F2} ms");
    }
}
