namespace Frugal.Tests.Data;

/// <summary>Named pipes for the tests, and a bound on how long a read may take (a read that opens a pipe blocks).</summary>
static class SpecialFiles
{
    /// <summary>Makes a FIFO at <paramref name="path"/>; false where mkfifo is missing (not Unix).</summary>
    public static bool MakeFifo(string path)
    {
        try
        {
            using var p = System.Diagnostics.Process.Start("mkfifo", path);
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    /// <summary>
    /// Runs <paramref name="read"/> and returns what it threw (null when it returned), failing the test when it takes
    /// over a second. On a timeout a <paramref name="fifo"/> is opened for writing once, which releases a reader
    /// blocked in open(); <paramref name="path"/> names what was read in the failure.
    /// </summary>
    public static Exception? ThrownWithinASecond(Action read, string path, string? fifo = null)
    {
        var task = Task.Run(read);
        // Waiting on the continuation, not the task: a faulted task would throw out of Wait.
        if (!task.ContinueWith(_ => { }).Wait(TimeSpan.FromSeconds(1)))
        {
            if (fifo != null)
                try { using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write); } catch (IOException) { }
            Assert.Fail($"reading {path} did not return within a second (a pipe opened for reading waits for a writer)");
        }
        return task.Exception?.InnerException;
    }
}
