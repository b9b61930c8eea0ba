using System.Runtime.InteropServices;

namespace Frugal.Backends.Cuda.Native;

/// <summary>The three native libraries the CUDA backend uses.</summary>
public enum CudaLibrary { Driver, Cublas, Nvrtc }

/// <summary>
/// What the library search looks at, as a value so the probing order is testable without touching the machine:
/// CUDA_PATH (or CUDA_HOME), LD_LIBRARY_PATH, the toolkit folders under /usr/local (cuda, cuda-13.0, …), and
/// FRUGAL_CUDA_EMULATOR (a library that stands in for all three, for tests without a GPU).
/// </summary>
public sealed record CudaProbeEnvironment(string? CudaPath, string? LdLibraryPath, IReadOnlyList<string> LocalCudaRoots, string? Emulator = null)
{
    public static CudaProbeEnvironment Current()
    {
        static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
        return new(Env("CUDA_PATH") ?? Env("CUDA_HOME"), Env("LD_LIBRARY_PATH"), LocalRoots("/usr/local"), Env("FRUGAL_CUDA_EMULATOR"));
    }

    /// <summary>The cuda* folders of <paramref name="dir"/>: "cuda" first (the symlink to the default toolkit), then
    /// versioned ones, newest first.</summary>
    public static IReadOnlyList<string> LocalRoots(string dir)
    {
        if (!Directory.Exists(dir)) return [];
        try { return OrderRoots(Directory.GetDirectories(dir, "cuda*")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>Orders toolkit roots: plain "cuda" first, then by version (cuda-13.0 before cuda-12.4 before cuda-12), newest first.</summary>
    public static IReadOnlyList<string> OrderRoots(IEnumerable<string> roots) =>
        roots.OrderBy(r => Path.GetFileName(r) == "cuda" ? 0 : 1)
             .ThenByDescending(r => VersionOf(Path.GetFileName(r)))
             .ThenBy(r => r, StringComparer.Ordinal)
             .ToList();

    static Version VersionOf(string name)
    {
        var v = name.StartsWith("cuda-", StringComparison.Ordinal) ? name[5..] : "";
        if (!v.Contains('.')) v += ".0";
        return Version.TryParse(v, out var ver) ? ver : new Version(0, 0);
    }
}

/// <summary>
/// Finds and loads libcuda, libcublas and libnvrtc at run time from their versioned names (libcuda.so.1,
/// libcublas.so.13/.12, libnvrtc.so.13/.12), so no unversioned symlinks or a CUDA_PATH setting are needed.
/// <see cref="Candidates"/> is the whole probing order (a pure function); loading tries them in turn. The DllImport
/// names of <see cref="CuDriver"/>, <see cref="CuBlas"/> and <see cref="Nvrtc"/> resolve through the assembly's
/// one <see cref="NativeResolver"/>.
/// </summary>
public static class CudaLibraries
{
    internal const string DriverImport = "frugal-cuda", CublasImport = "frugal-cublas", NvrtcImport = "frugal-nvrtc";

    /// <summary>Major versions tried for the toolkit libraries, newest first (the GPU machine has CUDA 13).</summary>
    static readonly string[] ToolkitMajors = ["13", "12"];

    /// <summary>Where distributions and NVIDIA's installer put the driver library.</summary>
    static readonly string[] DriverDirs = ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/lib/wsl/lib"];

    /// <summary>The file names of a library, preferred first.</summary>
    public static IReadOnlyList<string> FileNames(CudaLibrary lib) => lib switch
    {
        CudaLibrary.Driver => ["libcuda.so.1"],
        CudaLibrary.Cublas => [.. ToolkitMajors.Select(v => $"libcublas.so.{v}"), "libcublas.so"],
        _ => [.. ToolkitMajors.Select(v => $"libnvrtc.so.{v}"), "libnvrtc.so"],
    };

    /// <summary>The folders searched after the system loader, in order: CUDA_PATH's library folders, LD_LIBRARY_PATH
    /// entries, then each local toolkit's (for the driver: the distribution's library folders first).</summary>
    public static IReadOnlyList<string> SearchDirectories(CudaLibrary lib, CudaProbeEnvironment env)
    {
        var dirs = new List<string>();
        if (lib == CudaLibrary.Driver) dirs.AddRange(DriverDirs);
        if (env.CudaPath != null) dirs.AddRange(ToolkitDirs(env.CudaPath));
        if (env.LdLibraryPath != null)
            dirs.AddRange(env.LdLibraryPath.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var root in env.LocalCudaRoots) dirs.AddRange(ToolkitDirs(root));
        return dirs.Distinct(StringComparer.Ordinal).ToList();
    }

    static IEnumerable<string> ToolkitDirs(string root) =>
        [Path.Combine(root, "targets", "x86_64-linux", "lib"), Path.Combine(root, "lib64"), Path.Combine(root, "lib")];

    /// <summary>
    /// Every path tried for <paramref name="lib"/>, in order: per file name (versioned first), the bare name (the
    /// system loader's own search: ld.so.cache, LD_LIBRARY_PATH as set at start-up), then that name in each of
    /// <see cref="SearchDirectories"/>. With an emulator set, only the emulator.
    /// </summary>
    public static IReadOnlyList<string> Candidates(CudaLibrary lib, CudaProbeEnvironment env)
    {
        if (env.Emulator != null) return [env.Emulator];
        var dirs = SearchDirectories(lib, env);
        var list = new List<string>();
        foreach (var file in FileNames(lib))
        {
            list.Add(file);
            foreach (var d in dirs) list.Add(Path.Combine(d, file));
        }
        return list.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>The libcublasLt that a libcublas candidate needs loaded first (cuBLAS links against it by soname and
    /// the loader would not look beside a library opened by path); null for other libraries.</summary>
    public static string? Companion(CudaLibrary lib, string candidate)
    {
        if (lib != CudaLibrary.Cublas) return null;
        var file = Path.GetFileName(candidate);
        if (!file.StartsWith("libcublas.so", StringComparison.Ordinal)) return null;
        var lt = "libcublasLt" + file["libcublas".Length..];
        var dir = Path.GetDirectoryName(candidate);
        return string.IsNullOrEmpty(dir) ? lt : Path.Combine(dir, lt);
    }

    sealed class Loaded(IntPtr handle, string? path, IReadOnlyList<string> tried)
    {
        public IntPtr Handle = handle;
        public string? Path = path;
        public IReadOnlyList<string> Tried = tried;
    }

    static readonly Dictionary<CudaLibrary, Loaded> _loaded = [];

    /// <summary>Loads <paramref name="lib"/> (once per process) and registers its DllImport name; false, with the
    /// paths tried, when no candidate loads.</summary>
    public static bool TryLoad(CudaLibrary lib, out string? loadedFrom, out IReadOnlyList<string> tried)
    {
        lock (_loaded)
        {
            if (!_loaded.TryGetValue(lib, out var l))
            {
                var candidates = Candidates(lib, CudaProbeEnvironment.Current());
                IntPtr h = IntPtr.Zero;
                string? from = null;
                foreach (var c in candidates)
                {
                    if (Companion(lib, c) is { } companion) NativeLibrary.TryLoad(companion, out _);
                    if (NativeLibrary.TryLoad(c, out h)) { from = c; break; }
                }
                _loaded[lib] = l = new Loaded(h, from, candidates);
                NativeResolver.Register(ImportName(lib), () => Handle(lib));
            }
            loadedFrom = l.Path;
            tried = l.Tried;
            return l.Handle != IntPtr.Zero;
        }
    }

    /// <summary>Loads <paramref name="lib"/> or throws <see cref="NotSupportedException"/> with a one-line reason.</summary>
    public static string Require(CudaLibrary lib)
    {
        if (TryLoad(lib, out var from, out var tried)) return from!;
        throw new NotSupportedException(MissingMessage(lib, tried));
    }

    /// <summary>The one-line reason given when a library is absent.</summary>
    public static string MissingMessage(CudaLibrary lib, IReadOnlyList<string> tried)
    {
        var shown = string.Join(", ", tried.Take(4)) + (tried.Count > 4 ? $" and {tried.Count - 4} more paths" : "");
        return lib switch
        {
            CudaLibrary.Driver => $"cuda: no CUDA driver found (libcuda.so.1); tried {shown}. Install the NVIDIA driver, or use the cpu device",
            CudaLibrary.Cublas => $"cuda: cuBLAS not found (libcublas.so.13 or .12); tried {shown}. Install the CUDA toolkit or set CUDA_PATH",
            _ => $"cuda: NVRTC not found (libnvrtc.so.13 or .12); tried {shown}. Install the CUDA toolkit or set CUDA_PATH",
        };
    }

    static IntPtr Handle(CudaLibrary lib)
    {
        lock (_loaded) return _loaded.TryGetValue(lib, out var l) ? l.Handle : IntPtr.Zero;
    }

    static string ImportName(CudaLibrary lib) => lib switch
    {
        CudaLibrary.Driver => DriverImport,
        CudaLibrary.Cublas => CublasImport,
        _ => NvrtcImport,
    };
}
