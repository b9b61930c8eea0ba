using System.Reflection;
using System.Runtime.InteropServices;

namespace Frugal.Backends;

/// <summary>
/// The one <see cref="NativeLibrary.SetDllImportResolver"/> of this assembly (.NET allows only one per assembly).
/// Native wrappers (OpenBLAS, the CUDA libraries) register a handler for their logical library names; the
/// handler runs on the first call into that library, so nothing is loaded before it is used.
/// </summary>
static class NativeResolver
{
    static readonly Dictionary<string, Func<IntPtr>> _handlers = new(StringComparer.Ordinal);
    static bool _installed;

    /// <summary>Resolves the DllImport name <paramref name="logicalName"/> with <paramref name="load"/>
    /// (which returns <see cref="IntPtr.Zero"/> when the library is missing).</summary>
    public static void Register(string logicalName, Func<IntPtr> load)
    {
        lock (_handlers)
        {
            _handlers[logicalName] = load;
            if (_installed) return;
            NativeLibrary.SetDllImportResolver(typeof(NativeResolver).Assembly, Resolve);
            _installed = true;
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        Func<IntPtr>? load;
        lock (_handlers) _handlers.TryGetValue(name, out load);
        return load?.Invoke() ?? IntPtr.Zero;
    }
}
