namespace Frugal.IO;

/// <summary>
/// Whole-file writes that a crash, a full disk or a planted link cannot corrupt. The content goes to a new temporary
/// file beside the target, created exclusively (O_CREAT|O_EXCL: an existing file or symlink of that name is an error,
/// never followed) under an unpredictable name, flushed to disk, then renamed over the target. rename(2) replaces
/// whatever the target path holds, a symlink included, without following it. On any failure the temporary file is
/// removed and the target is left as it was.
/// </summary>
public static class AtomicFile
{
    /// <summary>The suffix of every temporary file; a folder's leftovers from a killed process match <c>*{Suffix}</c>.</summary>
    public const string Suffix = ".frugal-tmp";

    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new IOException($"{full}: is a folder; cannot write a file there (move the folder away)");
        var tmp = $"{full}.{Guid.NewGuid():N}{Suffix}";
        try
        {
            using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            if (e is IOException or UnauthorizedAccessException)
                throw new IOException($"{full}: could not be written ({e.Message.TrimEnd('.')}); the previous file is intact", e);
            throw;
        }
    }

    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// <summary>Deletes the temporary files a killed process left in <paramref name="folder"/> (regular files only).</summary>
    public static void RemoveLeftovers(string folder)
    {
        foreach (var f in Directory.EnumerateFiles(folder, "*" + Suffix))
        {
            try { File.Delete(f); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
