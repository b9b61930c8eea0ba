using Frugal.Tensors;

namespace Frugal.Tests;

/// <summary>
/// The devices every op test runs on (MathNet.Numerics' pattern: one test source, every provider).
/// CPU always; CUDA when a backend for it is registered and a GPU answers. Tests take a device name
/// so xunit shows it in the test name.
/// </summary>
public static class TestDevices
{
    public static string[] Names => CudaAvailable() ? ["cpu", "cuda"] : ["cpu"];

    public static TheoryData<string> All => new(Names);

    static bool CudaAvailable()
    {
        try { return global::Frugal.Backends.BackendRegistry.Get(Device.Cuda()) != null; }
        catch (NotSupportedException) { return false; }
        catch (Exception) { return false; }
    }

    public static Device Parse(string name) => Device.Parse(name);
}
