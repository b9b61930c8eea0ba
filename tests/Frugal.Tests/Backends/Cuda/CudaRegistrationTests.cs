using Frugal.Backends;
using Frugal.Backends.Cuda;
using Frugal.Tensors;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>How the CUDA backend shows up, or says why not. On a machine without a driver these check the clean
/// refusal; with one (or the emulator) they check that the op tests will run on it.</summary>
public class CudaRegistrationTests
{
    [Fact]
    public void Cuda_device_is_either_available_or_refused_with_a_one_line_reason()
    {
        bool ok = CudaBackend.IsAvailable(0, out var reason);
        Assert.False(string.IsNullOrWhiteSpace(reason));
        Assert.DoesNotContain('\n', reason);
        Assert.Equal(ok, TestDevices.Names.Contains("cuda"));
        if (ok)
        {
            Assert.IsType<CudaBackend>(BackendRegistry.Get(Device.Cuda()));
            Assert.Contains("cuda:0", reason);
        }
        else
        {
            Assert.StartsWith("cuda", reason);
            var ex = Assert.Throws<NotSupportedException>(() => Tensor.Zeros(new Shape(2), Device.Cuda()));
            Assert.Equal(reason, ex.Message);   // the same message every time, without probing again
        }
    }

    [Fact]
    public void A_missing_gpu_index_is_refused_not_crashed()
    {
        Assert.False(CudaBackend.IsAvailable(97, out var reason));
        Assert.StartsWith("cuda", reason);
    }
}
