using System.Runtime.InteropServices;

namespace Frugal.IO;

/// <summary>
/// Checks, before a file is opened for reading, that it is a regular file (a link to one is fine). Opening a FIFO
/// blocks until some writer appears, a device such as /dev/zero never ends, and a folder cannot be read: each gets a
/// one-line refusal instead of a hang or a .NET exception. .NET's FileInfo reports FIFOs and devices as "Normal"
/// files, so the file type comes from stat(2), through the runtime's own native shim (its FileStatus starts
/// { int32 Flags; int32 Mode; … }, Mode holding the S_IFMT bits).
/// </summary>
public static unsafe class RegularFile
{
    const int TypeMask = 0xF000, Fifo = 0x1000, CharDevice = 0x2000, Folder = 0x4000, BlockDevice = 0x6000, Regular = 0x8000, Socket = 0xC000;

    /// <summary>Throws unless <paramref name="path"/> is a regular file: FileNotFoundException when nothing is there,
    /// InvalidDataException naming what is there otherwise. <paramref name="what"/> names the file's role ("run config").</summary>
    public static void Require(string path, string what)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{what}: {path} is a folder, not a file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{what}: {path} does not exist", path);
        int type = FileType(path);
        if (type is 0 or Regular) return;
        string kind = type switch
        {
            Fifo => "named pipe (FIFO)", CharDevice => "character device", BlockDevice => "block device", Socket => "socket", _ => "special file",
        };
        throw new InvalidDataException($"{what}: {path} is a {kind}, not a regular file; give the path of a file");
    }

    /// <summary>The text of a regular file (<see cref="Require"/> first).</summary>
    public static string ReadAllText(string path, string what)
    {
        Require(path, what);
        return File.ReadAllText(path);
    }

    /// <summary>The S_IFMT bits of stat(path), or 0 where they cannot be had (no native shim on this platform).</summary>
    static int FileType(string path)
    {
        byte* status = stackalloc byte[256];   // larger than any FileStatus the runtime has had
        try { return Stat(path, status) == 0 ? *(int*)(status + 4) & TypeMask : 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return 0; }
    }

    [DllImport("libSystem.Native", EntryPoint = "SystemNative_Stat")]
    static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte* status);
}
