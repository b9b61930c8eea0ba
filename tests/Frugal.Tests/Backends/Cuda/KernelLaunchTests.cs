using System.Runtime.InteropServices;
using Frugal.Backends.Cuda.Kernels;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>Argument marshalling, launch shapes and the kernel cache, without a GPU.</summary>
public class KernelLaunchTests
{
    [Fact]
    public void Arguments_are_packed_at_natural_alignment_with_their_bytes()
    {
        var win = new FrWin { H = 28, W = 28, Kh = 3, Kw = 3, Sh = 1, Sw = 1, Ph = 1, Pw = 1, Dh = 1, Dw = 1, Oh = 28, Ow = 28 };
        KernelArg[] args = [7, 0xdead_beef_0000UL, 1.5f, 2.25, KernelArg.Struct(win), KernelArg.Int64(-3), KernelArg.Flag(true)];
        var (buf, off) = KernelArgPacker.Pack(args);
        Assert.Equal([0, 8, 16, 24, 32, 80, 88], off);
        Assert.Equal(7, BitConverter.ToInt32(buf, off[0]));
        Assert.Equal(0xdead_beef_0000UL, BitConverter.ToUInt64(buf, off[1]));
        Assert.Equal(1.5f, BitConverter.ToSingle(buf, off[2]));
        Assert.Equal(2.25, BitConverter.ToDouble(buf, off[3]));
        Assert.Equal(win, MemoryMarshal.Read<FrWin>(buf.AsSpan(off[4])));
        Assert.Equal(-3L, BitConverter.ToInt64(buf, off[5]));
        Assert.Equal(1, BitConverter.ToInt32(buf, off[6]));
    }

    [Fact]
    public void Dims_hold_dims_and_strides_and_refuse_too_many_axes()
    {
        var d = FrDims.Create("t", [2, 3], [3, 1], [0, 1]);
        unsafe { Assert.Equal((2, 2, 3, 3, 1, 0, 1), (d.Rank, d.Dim[0], d.Dim[1], d.A[0], d.A[1], d.B[0], d.B[1])); }
        var ex = Assert.Throws<NotSupportedException>(() => FrDims.Create("zip", new int[9], new int[9], new int[9]));
        Assert.Contains("zip: rank 9", ex.Message);
    }

    [Theory]
    [InlineData(0, 0u)]
    [InlineData(1, 1u)]
    [InlineData(256, 1u)]
    [InlineData(257, 2u)]
    [InlineData(1L << 30, (uint)LaunchShape.MaxGrid)]
    public void Element_launches_cover_n_with_a_capped_grid(long n, uint grid)
    {
        var s = LaunchShape.ForElements(n);
        Assert.Equal(grid, s.Grid);
        Assert.True(s.IsEmpty == (n == 0));
        if (n > 0) Assert.Equal((uint)LaunchShape.BlockSize, s.Block);
        Assert.Equal(Math.Min(5, 5), (int)LaunchShape.PerRow(5).Grid);
        Assert.True(LaunchShape.PerRow(0).IsEmpty);
    }

    [Fact]
    public void Block_size_is_the_power_of_two_the_reductions_assume()
    {
        Assert.True(LaunchShape.BlockSize > 0 && (LaunchShape.BlockSize & (LaunchShape.BlockSize - 1)) == 0);
        Assert.Contains($"#define FR_BLOCK {LaunchShape.BlockSize}", KernelPrelude.Text);
    }

    [Theory]
    [InlineData(9, 0, new[] { 75, 80, 86, 89, 90 }, "compute_90")]
    [InlineData(12, 0, new[] { 75, 80, 90 }, "compute_90")]        // GPU newer than NVRTC: newest PTX it can make
    [InlineData(8, 6, new[] { 75, 80, 86, 89, 90 }, "compute_86")]
    [InlineData(8, 9, new int[0], "compute_89")]                      // NVRTC lists nothing: the device's own
    public void Architecture_is_the_newest_the_compiler_has_and_the_device_runs(int major, int minor, int[] supported, string arch)
    {
        Assert.Equal(arch, KernelCache.ChooseArch(major, minor, supported));
    }

    [Fact]
    public void A_device_older_than_every_supported_architecture_is_refused()
    {
        var ex = Assert.Throws<NotSupportedException>(() => KernelCache.ChooseArch(6, 1, [75, 80]));
        Assert.Contains("6.1", ex.Message);
    }

    [Fact]
    public void Each_module_is_compiled_once_per_architecture_and_loaded_once_per_device()
    {
        var compiled = new List<(string Name, string Options)>();
        int loads = 0;
        byte[] Compile(string src, string name, IReadOnlyList<string> opts) { compiled.Add((name, string.Join(" ", opts))); return [1, 2, 3]; }
        IntPtr Load(byte[] ptx) { loads++; return 42; }
        IntPtr Fn(IntPtr module, string name) => name.Length;
        // A unique source, so the process-wide PTX cache has not seen it.
        var module = new KernelModule("test" + Guid.NewGuid().ToString("N"), """extern "C" __global__ void fr_a(float* y, int n) {} extern "C" __global__ void fr_bb(float* y) {}""");
        int before = KernelCache.Compilations;
        var dev0 = new KernelCache("compute_90", Compile, Load, Fn);
        var a = dev0.Get(module, "fr_a");
        var b = dev0.Get(module, "fr_bb");
        Assert.Same(a, dev0.Get(module, "fr_a"));
        Assert.Equal(4, (int)a.Function);
        Assert.Equal(5, (int)b.Function);
        Assert.Single(compiled);
        Assert.Equal("--gpu-architecture=compute_90 -lineinfo", compiled[0].Options);
        Assert.Equal(1, loads);
        var dev1 = new KernelCache("compute_90", Compile, Load, Fn);   // a second GPU of the same kind
        dev1.Get(module, "fr_a");
        Assert.Single(compiled);                                       // PTX reused
        Assert.Equal(2, loads);                                        // but loaded into that device's context
        new KernelCache("compute_80", Compile, Load, Fn).Get(module, "fr_a");
        Assert.Equal(2, compiled.Count);                               // another architecture compiles again
        Assert.Equal(before + 2, KernelCache.Compilations);
    }

    [Fact]
    public void Cache_key_depends_on_source_and_options_only()
    {
        var k = KernelCache.Key("src", ["--gpu-architecture=compute_90"]);
        Assert.Equal(k, KernelCache.Key("src", ["--gpu-architecture=compute_90"]));
        Assert.NotEqual(k, KernelCache.Key("src ", ["--gpu-architecture=compute_90"]));
        Assert.NotEqual(k, KernelCache.Key("src", ["--gpu-architecture=compute_80"]));
        Assert.Equal(64, k.Length);
    }
}
