using System.Runtime.InteropServices;

namespace Frugal.IO;

/// <summary>
/// Checks, before a file is opened for reading, that it is a regular file (a link to one is fine). Opening a FIFO
/// blocks until some writer appears, a device such as /dev/zero never ends, and a folder cannot be read: each gets a
/// one-line refusal instead of a hang or a .NET exception. .NET reports pipes and devices as ordinary files
/// (FileAttributes.Normal, length 0), so on Linux the type comes from statx(2). The path is checked, then opened: a
/// file swapped for a pipe in between could still block; this guards against mistakes, not an adversary.
/// </summary>
public static unsafe class RegularFile
{
    /// <summary>Throws <see cref="FileNotFoundException"/> when nothing is at <paramref name="path"/>, and
    /// <see cref="InvalidDataException"/> naming what is there when it is not a regular file. <paramref name="what"/>
    /// names the file's role, as the message's prefix ("--config", "idx", "safetensors").</summary>
    public static void Require(string path, string what)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{what}: {path} is a folder, not a file; move it aside and put the file there");
        if (!File.Exists(path)) throw new FileNotFoundException($"{what}: {path} does not exist", path);
        if (Kind(path) is { } kind)
            throw new InvalidDataException($"{what}: {path} is {kind}, not a regular file (opening a pipe or device could wait forever); give the path of a file");
    }

    /// <summary>The text of a regular file (<see cref="Require"/> first).</summary>
    public static string ReadAllText(string path, string what)
    {
        Require(path, what);
        return File.ReadAllText(path);
    }

    /// <summary>Null for a regular file (or when the type cannot be told and the file reports a size), else what it is.</summary>
    static string? Kind(string path)
    {
        int mode = Mode(path);
        if (mode < 0)
            // No statx (not Linux, or an old libc): pipes and devices report length 0. Windows has no pipes or devices
            // in folders, so there an empty file is left to the reader to name.
            return !OperatingSystem.IsWindows() && new FileInfo(path).Length == 0 ? "empty, or a pipe or device (it reports no size)" : null;
        return (mode & 0xF000) switch
        {
            0x8000 => null,
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            0x4000 => "a folder",
            _ => $"of file type 0{Convert.ToString(mode & 0xF000, 8)}",
        };
    }

    const int AtFdCwd = -100, StatxType = 1, StatxModeOffset = 28, StatxSize = 256;

    /// <summary>The st_mode of <paramref name="path"/> (following links), or -1 where statx is unavailable or fails.</summary>
    static int Mode(string path)
    {
        if (!OperatingSystem.IsLinux()) return -1;
        // struct statx is the same on every Linux architecture: stx_mode is the u16 at byte 28.
        byte* buf = stackalloc byte[StatxSize];
        try { return statx(AtFdCwd, path, 0, StatxType, buf) == 0 ? *(ushort*)(buf + StatxModeOffset) : -1; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return -1; }
    }

    [DllImport("libc", SetLastError = true)]
    static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buf);
}
