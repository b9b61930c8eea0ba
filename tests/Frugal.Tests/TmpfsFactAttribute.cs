using System.Diagnostics;

namespace Frugal.Tests;

/// <summary>A test that mounts a small tmpfs (a real full disk); skipped, with the reason, where mounting is not
/// permitted (not root, or no CAP_SYS_ADMIN). Probed once by mounting and unmounting one.</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    static readonly string? Unavailable = Probe();

    public TmpfsFactAttribute()
    {
        if (Unavailable != null) Skip = Unavailable;
    }

    static string? Probe()
    {
        var dir = Path.Combine(Path.GetTempPath(), "frugal-tmpfs-probe-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            if (!Tmpfs.Run("mount", $"-t tmpfs -o size=64k tmpfs {dir}", out var why)) return $"cannot mount a tmpfs here: {why}";
            Tmpfs.Run("umount", dir, out _);
            return null;
        }
        finally { try { Directory.Delete(dir); } catch (IOException) { } }
    }
}

static class Tmpfs
{
    public static bool Run(string file, string args, out string error)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, UseShellExecute = false })!;
            error = p.StandardError.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception e) { error = e.Message; return false; }
    }
}
