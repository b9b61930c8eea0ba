using System.Reflection;
using System.Runtime.InteropServices;

namespace Frugal.Backends.Cpu;

/// <summary>
/// P/Invoke to OpenBLAS's cblas_sgemm, resolved at run time from the versioned library names Debian
/// installs (libopenblas0-pthread). If none loads, <see cref="Available"/> is false and the backend
/// falls back to <see cref="ManagedGemm"/> with one warning.
/// </summary>
static unsafe class OpenBlas
{
    const string Lib = "frugal-openblas";
    const int RowMajor = 101, NoTrans = 111, Trans = 112;

    static readonly string[] Candidates =
    [
        "libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
        "/usr/lib/aarch64-linux-gnu/libopenblas.so.0", "libopenblas.dylib", "libopenblas.dll",
    ];

    static IntPtr _handle;
    public static bool Available { get; }
    public static string? LoadedFrom { get; }

    static OpenBlas()
    {
        if (Environment.GetEnvironmentVariable("FRUGAL_NO_BLAS") == "1") return;
        foreach (var name in Candidates)
        {
            if (NativeLibrary.TryLoad(name, out _handle) && NativeLibrary.TryGetExport(_handle, "cblas_sgemm", out _))
            {
                LoadedFrom = name;
                Available = true;
                break;
            }
        }
        if (!Available) return;
        NativeLibrary.SetDllImportResolver(typeof(OpenBlas).Assembly, Resolve);
        if (NativeLibrary.TryGetExport(_handle, "openblas_set_num_threads", out var setThreads))
            ((delegate* unmanaged<int, void>)setThreads)(Threading.Threads);
    }

    /// <summary>The kernel set OpenBLAS chose for this CPU (openblas_get_corename), e.g. "Zen" or "SkylakeX"; null if unknown.
    /// OpenBLAS 0.3.21 does not know some newer CPUs and falls back to "Prescott" (SSE3) kernels, several times slower;
    /// OPENBLAS_CORETYPE=SkylakeX (or Haswell) then restores AVX-512 (AVX2) kernels.</summary>
    public static string? CoreName =>
        Available && NativeLibrary.TryGetExport(_handle, "openblas_get_corename", out var f) ? Marshal.PtrToStringAnsi(((delegate* unmanaged<IntPtr>)f)()) : null;

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) => name == Lib ? _handle : IntPtr.Zero;

    [DllImport(Lib, EntryPoint = "cblas_sgemm")]
    static extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => cblas_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
