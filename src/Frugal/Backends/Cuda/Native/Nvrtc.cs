using System.Runtime.InteropServices;
using System.Text;

namespace Frugal.Backends.Cuda.Native;

/// <summary>The NVRTC calls that compile the backend's CUDA C kernels to PTX at run time (nvrtc.h).</summary>
internal static unsafe class Nvrtc
{
    const string Lib = CudaLibraries.NvrtcImport;

    public static void Check(int result, string call, string? detail = null)
    {
        if (result != 0) throw new CudaException(call, CudaApi.Nvrtc, result, detail);
    }

    [DllImport(Lib)] public static extern int nvrtcVersion(int* major, int* minor);
    [DllImport(Lib)] public static extern int nvrtcGetNumSupportedArchs(int* count);
    [DllImport(Lib)] public static extern int nvrtcGetSupportedArchs(int* archs);
    [DllImport(Lib)] public static extern int nvrtcCreateProgram(IntPtr* program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [DllImport(Lib)] public static extern int nvrtcCompileProgram(IntPtr program, int numOptions, byte** options);
    [DllImport(Lib)] public static extern int nvrtcGetPTXSize(IntPtr program, nuint* size);
    [DllImport(Lib)] public static extern int nvrtcGetPTX(IntPtr program, byte* ptx);
    [DllImport(Lib)] public static extern int nvrtcGetProgramLogSize(IntPtr program, nuint* size);
    [DllImport(Lib)] public static extern int nvrtcGetProgramLog(IntPtr program, byte* log);
    [DllImport(Lib)] public static extern int nvrtcDestroyProgram(IntPtr* program);

    /// <summary>A NUL-terminated UTF-8 copy of <paramref name="s"/>.</summary>
    public static byte[] Utf8z(string s)
    {
        var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    /// <summary>
    /// Compiles <paramref name="source"/> to PTX (NUL-terminated, as cuModuleLoadData wants). A compile error throws
    /// with NVRTC's log, which names the line.
    /// </summary>
    public static byte[] CompileToPtx(string source, string name, IReadOnlyList<string> options)
    {
        IntPtr prog;
        fixed (byte* src = Utf8z(source), nm = Utf8z(name))
            Check(nvrtcCreateProgram(&prog, src, nm, 0, null, null), "nvrtcCreateProgram");
        try
        {
            var opts = options.Select(Utf8z).ToArray();
            var handles = opts.Select(o => GCHandle.Alloc(o, GCHandleType.Pinned)).ToArray();
            int rc;
            try
            {
                var ptrs = stackalloc byte*[opts.Length];
                for (int i = 0; i < opts.Length; i++) ptrs[i] = (byte*)handles[i].AddrOfPinnedObject();
                rc = nvrtcCompileProgram(prog, opts.Length, ptrs);
            }
            finally { foreach (var h in handles) h.Free(); }
            if (rc != 0) Check(rc, $"nvrtcCompileProgram({name}, {string.Join(" ", options)})", Log(prog));
            nuint size;
            Check(nvrtcGetPTXSize(prog, &size), "nvrtcGetPTXSize");
            var ptx = new byte[(int)size + 1];
            fixed (byte* p = ptx) Check(nvrtcGetPTX(prog, p), "nvrtcGetPTX");
            return ptx;
        }
        finally { nvrtcDestroyProgram(&prog); }
    }

    static string Log(IntPtr prog)
    {
        nuint size;
        if (nvrtcGetProgramLogSize(prog, &size) != 0 || size <= 1) return "(no log)";
        var log = new byte[(int)size];
        fixed (byte* p = log) nvrtcGetProgramLog(prog, p);
        return Encoding.UTF8.GetString(log, 0, log.Length - 1).Trim();
    }

    /// <summary>The architectures this NVRTC compiles for (e.g. 75, 80, 86, 89, 90, 100, 120).</summary>
    public static int[] SupportedArchs()
    {
        int n;
        if (nvrtcGetNumSupportedArchs(&n) != 0 || n <= 0) return [];
        var a = new int[n];
        fixed (int* p = a) Check(nvrtcGetSupportedArchs(p), "nvrtcGetSupportedArchs");
        return a;
    }
}
