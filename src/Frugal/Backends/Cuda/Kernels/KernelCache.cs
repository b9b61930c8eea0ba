using System.Security.Cryptography;
using System.Text;

namespace Frugal.Backends.Cuda.Kernels;

/// <summary>A kernel ready to launch: its function handle on one device and its signature.</summary>
public sealed record CompiledKernel(IntPtr Function, KernelSignature Signature, IReadOnlyDictionary<string, int> StructSizes);

/// <summary>
/// Compiles each kernel module once per process and architecture and loads it once per device. The compiled PTX is
/// shared by every device of the same architecture (a static cache keyed by <see cref="Key"/>); module and function
/// handles are per device. Compiling, loading and function look-up are injected, so the caching logic is tested
/// without NVRTC or a GPU.
/// </summary>
public sealed class KernelCache(
    string arch,
    Func<string, string, IReadOnlyList<string>, byte[]> compile,
    Func<byte[], IntPtr> loadModule,
    Func<IntPtr, string, IntPtr> getFunction)
{
    static readonly Dictionary<string, byte[]> _ptx = [];
    static int _compilations;

    readonly Dictionary<string, IntPtr> _modules = [];
    readonly Dictionary<(string Module, string Kernel), CompiledKernel> _functions = [];

    /// <summary>The NVRTC target, e.g. compute_90.</summary>
    public string Arch => arch;

    /// <summary>Number of NVRTC compilations in this process (all caches).</summary>
    public static int Compilations => Volatile.Read(ref _compilations);

    /// <summary>NVRTC options: the virtual architecture (the driver JIT-compiles the PTX for the exact GPU) and line
    /// info for compute-sanitizer. No fast-math: results must match the CPU backend within float rounding.</summary>
    public IReadOnlyList<string> Options => [$"--gpu-architecture={arch}", "-lineinfo"];

    /// <summary>The cache key: a hash of the source and the options (architecture included).</summary>
    public static string Key(string source, IReadOnlyList<string> options) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source + "\0" + string.Join("\0", options))));

    /// <summary>
    /// The virtual architecture for a device of compute capability <paramref name="major"/>.<paramref name="minor"/>:
    /// the newest that NVRTC supports and the device can run (a newer GPU than the NVRTC runs PTX of an older
    /// architecture); the device's own when NVRTC does not list any.
    /// </summary>
    public static string ChooseArch(int major, int minor, IReadOnlyList<int> supported)
    {
        int cc = major * 10 + minor;
        var ok = supported.Where(a => a <= cc).ToList();
        if (supported.Count > 0 && ok.Count == 0)
            throw new NotSupportedException($"cuda: the GPU (compute capability {major}.{minor}) is older than every architecture this NVRTC supports ({string.Join(", ", supported)})");
        return $"compute_{(ok.Count == 0 ? cc : ok.Max())}";
    }

    public CompiledKernel Get(KernelModule module, string kernel)
    {
        lock (_functions)
        {
            if (_functions.TryGetValue((module.Name, kernel), out var k)) return k;
            var sig = module.Signature(kernel);
            if (!_modules.TryGetValue(module.Name, out var handle))
            {
                var options = Options;
                var key = Key(module.Source, options);
                byte[]? ptx;
                lock (_ptx)
                {
                    if (!_ptx.TryGetValue(key, out ptx))
                    {
                        ptx = compile(module.Source, module.Name + ".cu", options);
                        _ptx[key] = ptx;
                        Interlocked.Increment(ref _compilations);
                    }
                }
                _modules[module.Name] = handle = loadModule(ptx);
            }
            k = new CompiledKernel(getFunction(handle, kernel), sig, module.StructSizes);
            _functions[(module.Name, kernel)] = k;
            return k;
        }
    }
}
