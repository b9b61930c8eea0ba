using Frugal.Backends.Cpu;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Backends;

/// <summary>The settings Frugal gives OpenBLAS before it loads (the user's own environment wins).</summary>
public class OpenBlasSettingsTests
{
    [Fact]
    public void Worker_threads_are_told_to_sleep_right_after_a_gemm()
    {
        var c = Tensor.Randn(new Shape(64, 64), new Generator(1)).Matmul(Tensor.Randn(new Shape(64, 64), new Generator(2)));
        Assert.Equal(new Shape(64, 64), c.Shape);
        if (!OperatingSystem.IsLinux() || !OpenBlas.Available) return;   // nothing to configure
        // Set by Frugal ("4") unless the environment running the tests chose a value itself.
        Assert.NotNull(Environment.GetEnvironmentVariable("OPENBLAS_THREAD_TIMEOUT"));
    }
}
