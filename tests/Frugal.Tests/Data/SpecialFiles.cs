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
    /// Runs <paramref name="read"/> and returns what it threw (null when it returned). When it takes over a second
    /// (a loaded machine can, with the whole suite running in parallel) and <paramref name="fifo"/> is given, the
    /// pipe is opened read-write, which never blocks on Linux and releases a reader stuck in open(): that reader then
    /// sees an empty file and fails with another message, so a regression still fails the caller's assertions
    /// instead of hanging the suite. <paramref name="path"/> names what was read in the failure.
    /// </summary>
    public static Exception? ThrownWithinASecond(Action read, string path, string? fifo = null, Xunit.Abstractions.ITestOutputHelper? log = null)
    {
        var task = Task.Run(read);
        // Waiting on the continuation, not the task: a faulted task would throw out of Wait.
        var done = task.ContinueWith(_ => { });
        if (!done.Wait(TimeSpan.FromSeconds(1)))
        {
            log?.WriteLine($"reading {path} took over a second");
            if (fifo != null)
                using (new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite)) { }
            if (!done.Wait(TimeSpan.FromSeconds(20)))
                Assert.Fail($"reading {path} did not return (a pipe opened for reading waits for a writer)");
        }
        return task.Exception?.InnerException;
    }
}
