using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

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
        ChooseCoreType();
        ShortenThreadSpin();
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
        NativeResolver.Register(Lib, () => _handle);
        if (NativeLibrary.TryGetExport(_handle, "openblas_set_num_threads", out var setThreads))
            ((delegate* unmanaged<int, void>)setThreads)(Threading.Threads);
    }

    /// <summary>The kernel set OpenBLAS chose for this CPU (openblas_get_corename), e.g. "Zen" or "SkylakeX"; null if unknown.
    /// OpenBLAS 0.3.21 does not know some newer CPUs and falls back to "Prescott" (SSE3) kernels, several times slower;
    /// OPENBLAS_CORETYPE=SkylakeX (or Haswell) then restores AVX-512 (AVX2) kernels.</summary>
    public static string? CoreName =>
        Available && NativeLibrary.TryGetExport(_handle, "openblas_get_corename", out var f) ? Marshal.PtrToStringAnsi(((delegate* unmanaged<IntPtr>)f)()) : null;

    /// <summary>
    /// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Intel Xeons (e.g. family 6 model 207) and falls back
    /// to its SSE3 "Prescott" kernels: a 1024³ sgemm ran at 12–16 GFLOP/s there, 63 with OPENBLAS_CORETYPE=SkylakeX
    /// (measured under load, 2026-11-23; `frugal bench gemm`). So on Intel CPUs, unless the user set it, Frugal names
    /// the kernel set the CPU supports before the library loads. AMD CPUs are left to OpenBLAS's own detection.
    /// The variable must be set in the native environment (setenv): .NET's Environment keeps its own copy on Unix.
    /// </summary>
    static void ChooseCoreType()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") != null) return;
        if (!X86Base.IsSupported) return;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        bool intel = ebx == 0x756E6547 && edx == 0x49656E69 && ecx == 0x6C65746E;   // "GenuineIntel"
        if (!intel) return;
        string? core = Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported ? "SkylakeX"
                     : Avx2.IsSupported && Fma.IsSupported ? "Haswell" : null;
        if (core == null) return;
        setenv("OPENBLAS_CORETYPE", core, 0);
        Environment.SetEnvironmentVariable("OPENBLAS_CORETYPE", core);
    }

    /// <summary>
    /// After a GEMM, OpenBLAS's worker threads keep polling for the next one for 2^28 cycles (~0.1 s) by default. On a
    /// machine with as many cores as threads that poll takes a core from whatever runs next: the cnn's direct
    /// convolutions and batch norms, split over both cores right after the linear layers' GEMMs, ran no faster than on
    /// one thread. With OPENBLAS_THREAD_TIMEOUT=4 (2^4 cycles, OpenBLAS's minimum) the workers sleep at once: the cnn
    /// step took 131–145 ms instead of 155–160 (three alternating pairs of processes, 8 rounds of 4 steps each,
    /// 2-core Xeon VM), the mlp's 8.3–10.0 ms against 8.2–10.2, and one OpenBLAS thread in place of two gave 127 vs 140
    /// in the same process. The user's own setting wins.
    /// </summary>
    static void ShortenThreadSpin()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("OPENBLAS_THREAD_TIMEOUT") != null) return;
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
        Environment.SetEnvironmentVariable("OPENBLAS_THREAD_TIMEOUT", "4");
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    static extern int setenv(string name, string value, int overwrite);

    [DllImport(Lib, EntryPoint = "cblas_sgemm")]
    static extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
        float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
        => cblas_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
