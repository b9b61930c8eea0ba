// Refuses a path that is not a regular file before anything opens it: opening a named pipe (FIFO) for reading
// blocks until a writer appears, and a device such as /dev/zero never ends. .NET reports pipes and devices as
// ordinary files (FileAttributes.Normal, length 0), so on Linux the type comes from statx(2). The path is checked,
// then opened: a file swapped for a pipe in between could still block; this guards against mistakes, not an adversary.
using System.Runtime.InteropServices;

namespace Frugal.Data;

static class RegularFile
{
    /// <summary>
    /// Throws <see cref="FileNotFoundException"/> when <paramref name="path"/> does not exist and
    /// <see cref="InvalidDataException"/> when it is a folder, pipe, device or socket. A symbolic link is followed:
    /// a link to a regular file is fine. <paramref name="what"/> names the expected content ("an IDX file").
    /// </summary>
    public static void Require(string path, string what, string prefix)
    {
        if (Directory.Exists(path))
            throw new InvalidDataException($"{prefix}: {path} is a folder, not {what}; move it aside and put the file there");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{prefix}: {path} does not exist (expected {what})", path);
        string? kind = Kind(path);
        if (kind != null)
            throw new InvalidDataException($"{prefix}: {path} is {kind}; only a regular file is read (opening a pipe or device could wait forever), so give {what} on disk");
    }

    /// <summary>Null for a regular file (or when the type cannot be told and the file reports a size), else what it is.</summary>
    static string? Kind(string path)
    {
        int mode = Mode(path);
        if (mode < 0)
            // No statx (not Linux, or an old libc): pipes and devices report length 0, and an IDX file is never empty.
            // Windows has no pipes or devices in folders, so there an empty file is left to the parser to name.
            return !OperatingSystem.IsWindows() && new FileInfo(path).Length == 0 ? "empty, or a pipe or device (it reports no size)" : null;
        return (mode & 0xF000) switch
        {
            0x8000 => null,
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0x4000 => "a folder",
            _ => $"of file type 0{mode & 0xF000:o}",
        };
    }

    const int AtFdCwd = -100, StatxType = 1, StatxModeOffset = 28, StatxSize = 256;

    /// <summary>The st_mode of <paramref name="path"/> (following links), or -1 where statx is unavailable or fails.</summary>
    static unsafe int Mode(string path)
    {
        if (!OperatingSystem.IsLinux()) return -1;
        // struct statx is the same on every Linux architecture: stx_mode is the u16 at byte 28.
        byte* buf = stackalloc byte[StatxSize];
        try
        {
            return statx(AtFdCwd, path, 0, StatxType, buf) == 0 ? *(ushort*)(buf + StatxModeOffset) : -1;
        }
        catch (DllNotFoundException) { return -1; }
        catch (EntryPointNotFoundException) { return -1; }
    }

    [DllImport("libc", SetLastError = true)]
    static extern unsafe int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buf);
}
