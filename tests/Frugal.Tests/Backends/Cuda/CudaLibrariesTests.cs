using Frugal.Backends.Cuda.Native;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>The native-library probing order, as a pure function of the environment (nothing is loaded).</summary>
public class CudaLibrariesTests
{
    static readonly CudaProbeEnvironment Bare = new(null, null, []);

    [Fact]
    public void Driver_is_probed_by_soname_then_in_the_distribution_folders()
    {
        var c = CudaLibraries.Candidates(CudaLibrary.Driver, Bare);
        Assert.Equal("libcuda.so.1", c[0]);
        Assert.Contains("/usr/lib/x86_64-linux-gnu/libcuda.so.1", c);
        Assert.Contains("/usr/lib/libcuda.so.1", c);   // where the GPU machine has it
        Assert.All(c, p => Assert.EndsWith("libcuda.so.1", p));
        Assert.DoesNotContain(c, p => p.Contains("stubs"));   // the toolkit's stub would load but cuInit fails
    }

    [Fact]
    public void Toolkit_libraries_prefer_version_13_then_12_then_unversioned()
    {
        var env = new CudaProbeEnvironment(null, null, ["/usr/local/cuda-13.0"]);
        var c = CudaLibraries.Candidates(CudaLibrary.Cublas, env);
        int i13 = c.ToList().IndexOf("libcublas.so.13"), i12 = c.ToList().IndexOf("libcublas.so.12"), iu = c.ToList().IndexOf("libcublas.so");
        Assert.True(i13 == 0 && i13 < i12 && i12 < iu, string.Join("\n", c));
        Assert.Equal("/usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublas.so.13", c[1]);
        var n = CudaLibraries.Candidates(CudaLibrary.Nvrtc, env);
        Assert.Equal(["libnvrtc.so.13", "/usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so.13"], n.Take(2));
    }

    [Fact]
    public void Cuda_path_comes_before_ld_library_path_before_local_toolkits()
    {
        var env = new CudaProbeEnvironment("/opt/cuda", "/a/lib::/b/lib", ["/usr/local/cuda", "/usr/local/cuda-12.4"]);
        var dirs = CudaLibraries.SearchDirectories(CudaLibrary.Nvrtc, env);
        Assert.Equal(
            ["/opt/cuda/targets/x86_64-linux/lib", "/opt/cuda/lib64", "/opt/cuda/lib", "/a/lib", "/b/lib",
             "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/cuda/lib64", "/usr/local/cuda/lib",
             "/usr/local/cuda-12.4/targets/x86_64-linux/lib", "/usr/local/cuda-12.4/lib64", "/usr/local/cuda-12.4/lib"],
            dirs);
        var drv = CudaLibraries.SearchDirectories(CudaLibrary.Driver, env);
        Assert.Equal("/usr/lib/x86_64-linux-gnu", drv[0]);
    }

    [Fact]
    public void Local_toolkits_are_ordered_default_first_then_newest()
    {
        var roots = CudaProbeEnvironment.OrderRoots(["/usr/local/cuda-12.4", "/usr/local/cuda-13.0", "/usr/local/cuda", "/usr/local/cuda-12", "/usr/local/cuda-12.10"]);
        Assert.Equal(["/usr/local/cuda", "/usr/local/cuda-13.0", "/usr/local/cuda-12.10", "/usr/local/cuda-12.4", "/usr/local/cuda-12"], roots);
    }

    [Fact]
    public void An_emulator_stands_in_for_every_library()
    {
        var env = Bare with { Emulator = "/tmp/libemu.so" };
        foreach (var lib in Enum.GetValues<CudaLibrary>())
            Assert.Equal(["/tmp/libemu.so"], CudaLibraries.Candidates(lib, env));
    }

    [Fact]
    public void Cublas_loads_its_lt_companion_from_the_same_place()
    {
        Assert.Equal("/x/libcublasLt.so.13", CudaLibraries.Companion(CudaLibrary.Cublas, "/x/libcublas.so.13"));
        Assert.Equal("libcublasLt.so.12", CudaLibraries.Companion(CudaLibrary.Cublas, "libcublas.so.12"));
        Assert.Null(CudaLibraries.Companion(CudaLibrary.Nvrtc, "libnvrtc.so.13"));
    }

    [Fact]
    public void Missing_driver_message_is_one_line_naming_the_library_and_the_way_out()
    {
        var msg = CudaLibraries.MissingMessage(CudaLibrary.Driver, CudaLibraries.Candidates(CudaLibrary.Driver, Bare));
        Assert.StartsWith("cuda: no CUDA driver found (libcuda.so.1)", msg);
        Assert.Contains("cpu device", msg);
        Assert.DoesNotContain('\n', msg);
    }

    [Fact]
    public void Errors_name_the_call_and_the_status()
    {
        var e = new CudaException("cuMemAlloc_v2", CudaApi.Driver, 2);
        Assert.Equal("cuda: cuMemAlloc_v2 failed with CUDA_ERROR_OUT_OF_MEMORY (2)", e.Message);
        Assert.Contains("CUBLAS_STATUS_INVALID_VALUE", new CudaException("cublasSgemm_v2", CudaApi.Cublas, 7).Message);
        var n = new CudaException("nvrtcCompileProgram", CudaApi.Nvrtc, 6, "kernel.cu(3): error: x undefined");
        Assert.Contains("NVRTC_ERROR_COMPILATION", n.Message);
        Assert.Contains("x undefined", n.Message);
        Assert.Equal("CUDA_ERROR_12345", ErrorNames.Name(CudaApi.Driver, 12345));
    }
}
