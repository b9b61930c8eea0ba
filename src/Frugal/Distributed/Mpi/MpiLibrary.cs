using System.Runtime.InteropServices;
using Frugal.Backends;

namespace Frugal.Distributed.Mpi;

/// <summary>
/// Loads Open MPI's <c>libmpi.so.40</c> at run time. It is opened with dlopen(RTLD_NOW | RTLD_GLOBAL) rather than
/// <see cref="NativeLibrary.Load(string)"/> (RTLD_LOCAL): Open MPI's MCA plugins (mca_btl_vader.so, mca_pml_ob1.so, …)
/// are themselves dlopen'ed by libmpi and resolve libmpi's and libopen-pal's symbols from the global namespace, so
/// a locally loaded libmpi fails in MPI_Init with "undefined symbol". <see cref="MpiNative"/>'s DllImports resolve
/// to this handle through the assembly's <see cref="NativeResolver"/>.
/// </summary>
static class MpiLibrary
{
    internal const string Import = "frugal-mpi";
    public const string FileName = "libmpi.so.40";
    public const string Missing = "distributed: libmpi.so.40 not found; install Open MPI: apt-get install openmpi-bin libopenmpi-dev";

    const int RtldNow = 2, RtldGlobal = 0x100;
    static readonly Lazy<(nint Handle, string? Error)> _loaded = new(() => Open(FileName));

    /// <summary>Whether the library loads here; <paramref name="reason"/> says why not.</summary>
    public static bool TryLoad(out string? reason)
    {
        reason = _loaded.Value.Error;
        return reason == null;
    }

    /// <summary>The library's handle; throws the one-line install hint where it is absent.</summary>
    public static nint Handle => _loaded.Value.Error is { } error ? throw new DistributedException(error) : _loaded.Value.Handle;

    /// <summary>The address of an exported symbol: a function, or a global such as <c>ompi_mpi_comm_world</c>, whose
    /// address is the MPI handle.</summary>
    public static nint Export(string name) =>
        NativeLibrary.TryGetExport(Handle, name, out var address) ? address
            : throw new DistributedException($"distributed: {FileName} has no symbol {name}; Frugal needs Open MPI 4.x");

    /// <summary>Opens <paramref name="file"/> for the process; the error (the install hint) where it does not load.</summary>
    internal static (nint Handle, string? Error) Open(string file)
    {
        if (!OperatingSystem.IsLinux()) return (0, "distributed: MPI is supported on Linux with Open MPI (libmpi.so.40)");
        nint handle = dlopen(file, RtldNow | RtldGlobal);
        if (handle == 0) return (0, Missing);
        NativeResolver.Register(Import, () => handle);
        return (handle, null);
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    static extern nint dlopen(string file, int mode);
}
