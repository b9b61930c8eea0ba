using Frugal.Diagnostics;

namespace Frugal.Tests.Diagnostics;

/// <summary>`frugal selftest`'s cases for the gradient compression kernels pass on every device (on the CPU they check
/// the harness; on "cuda" the same comparisons the GPU machine runs).</summary>
public class BackendSelfTestTests
{
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Quantize_and_prune_cases_pass(string device)
    {
        var d = TestDevices.Parse(device);
        var results = BackendSelfTest.Run(d, Frugal.Tensors.Device.Cpu, "quantize").Concat(BackendSelfTest.Run(d, Frugal.Tensors.Device.Cpu, "prune")).ToList();
        Assert.Equal(3, results.Count);
        Assert.All(results, r => Assert.True(r.Ok, $"{r.Name}: {r.Detail}"));
    }
}
