using Frugal.Backends;
using Frugal.Backends.Cuda.Kernels;

namespace Frugal.Tests.Backends.Cuda;

/// <summary>Checks on the CUDA C sources that need no compiler: every launch site's kernel exists and parses, the
/// structs match their C# mirrors, every op code has a case, and the dialect stays within what NVRTC and the CPU
/// emulator both accept.</summary>
public class KernelSourceTests
{
    public static readonly KernelModule[] Modules =
        [ElementwiseKernels.Module, ReduceKernels.Module, ConvKernels.Module, NormKernels.Module, IndexKernels.Module, OptimKernels.Module,
         CompressionKernels.Module];

    [Fact]
    public void Every_module_parses_into_kernels_with_supported_parameter_types()
    {
        var names = new HashSet<string>();
        foreach (var m in Modules)
        {
            Assert.NotEmpty(m.Kernels);
            foreach (var k in m.Kernels.Values)
            {
                Assert.True(names.Add(k.Name), $"kernel {k.Name} defined twice (names must be unique across modules)");
                Assert.StartsWith("fr_", k.Name);
                Assert.NotEmpty(k.Parameters);
            }
        }
        Assert.True(names.Count >= 35, $"{names.Count} kernels");
    }

    [Fact]
    public void Kernel_names_used_by_the_backend_all_exist()
    {
        var root = FindRepoRoot();
        var used = new HashSet<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(root, "src/Frugal/Backends/Cuda"), "CudaBackend*.cs"))
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), "\"(fr_\\w+)\""))
                used.Add(m.Groups[1].Value);
        var defined = Modules.SelectMany(m => m.Kernels.Keys).ToHashSet();
        Assert.Empty(used.Except(defined));
        Assert.Empty(defined.Except(used));   // no dead kernels either
    }

    [Fact]
    public unsafe void Structs_passed_by_value_have_the_size_of_their_host_mirrors()
    {
        var sizes = ElementwiseKernels.Module.StructSizes;
        Assert.Equal(sizeof(FrDims), sizes["FrDims"]);
        Assert.Equal(sizeof(FrWin), sizes["FrWin"]);
    }

    [Fact]
    public void Every_op_code_has_a_case_and_matches_the_enum_value()
    {
        var src = ElementwiseKernels.Module.Source;
        foreach (var v in Enum.GetValues<UnaryOp>())
        {
            Assert.Contains($"#define UOP_{v.ToString().ToUpperInvariant()} {(int)v}\n", src.Replace("\r", ""));
            Assert.Contains($"case UOP_{v.ToString().ToUpperInvariant()}:", src);
        }
        foreach (var v in Enum.GetValues<BinaryOp>())
            Assert.Contains($"case BOP_{v.ToString().ToUpperInvariant()}:", src);
        foreach (var v in Enum.GetValues<ReduceOp>())
            Assert.Contains($"#define ROP_{v.ToString().ToUpperInvariant()} {(int)v}", src);
    }

    [Fact]
    public void Sources_stay_within_the_shared_dialect()
    {
        foreach (var m in Modules)
        {
            var s = m.Source;
            Assert.DoesNotContain("#include", s);           // NVRTC has no standard headers by default
            Assert.DoesNotContain("atomic", s);             // deterministic formulations only
            Assert.DoesNotContain("__shfl", s);             // no warp intrinsics (the emulator runs threads one by one)
            Assert.DoesNotContain("INFINITY", s);           // a math.h macro NVRTC lacks: fr_inf()
            Assert.DoesNotContain("isnan", s);              // x != x
            Assert.DoesNotContain("extern __shared__", s);  // fixed-size shared arrays only
            Assert.DoesNotContain("blockDim.x / 2", s);     // reductions assume FR_BLOCK threads
        }
    }

    [Fact]
    public void Launch_checks_argument_count_kind_and_struct_size_against_the_signature()
    {
        var m = ElementwiseKernels.Module;
        var sig = m.Signature("fr_map");
        Assert.Equal("fr_map(const float* x, float* y, int n, int op, float a, float b)", sig.ToString());
        sig.Validate([0x1000UL, 0x2000UL, 5, 1, 0f, 0f], m.StructSizes);
        var few = Assert.Throws<ArgumentException>(() => sig.Validate([0x1000UL, 0x2000UL, 5], m.StructSizes));
        Assert.Contains("3 arguments given for 6", few.Message);
        var kind = Assert.Throws<ArgumentException>(() => sig.Validate([0x1000UL, 0x2000UL, 5, 1, 0, 0f], m.StructSizes));
        Assert.Contains("argument 4 (a) is Int", kind.Message);
        var zip = m.Signature("fr_zip");
        var wrong = Assert.Throws<ArgumentException>(() => zip.Validate([1UL, 2UL, 3UL, 4, 0, KernelArg.Struct(new FrWin())], m.StructSizes));
        Assert.Contains("struct FrDims", wrong.Message);
        Assert.Throws<ArgumentException>(() => m.Signature("fr_nope"));
    }

    internal static string FindRepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "Frugal.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new DirectoryNotFoundException("repository root (Frugal.slnx) not found above the test binaries");
    }
}
