using System.Globalization;

namespace Frugal.Diagnostics;

/// <summary>
/// The memory high-water mark of training, as the kernel counts it: the process's peak resident set (Linux VmHWM), which
/// covers the managed heap, native buffers (OpenBLAS, the MPI library) and everything else the process touched. A
/// window starts with <see cref="ResetPeak"/> (writing 5 to /proc/self/clear_refs lowers VmHWM to the current resident
/// size); where that is not allowed the peak simply runs from process start, which can only overstate it.
/// "Training memory" is the peak above a baseline, the resident size once the data and the model are loaded
/// (<see cref="MarkBaseline"/>): the memory the training itself adds — activations kept for backward, gradients,
/// optimizer state, caches, pooled buffers. On another OS every figure is 0 (unknown).
/// </summary>
public static class PeakMemory
{
    const string Status = "/proc/self/status";

    /// <summary>Current resident bytes (VmRSS); 0 where /proc is absent.</summary>
    public static long ResidentBytes() => Read("VmRSS:");

    /// <summary>Peak resident bytes since the last <see cref="ResetPeak"/> or process start (VmHWM); 0 where /proc is absent.</summary>
    public static long PeakResidentBytes() => Read("VmHWM:");

    /// <summary>Whether <see cref="ResetPeak"/> can lower the peak here (so windows are independent).</summary>
    public static bool CanReset { get; } = TryReset();

    /// <summary>Starts a new peak window at the current resident size; a no-op where the kernel refuses.</summary>
    public static void ResetPeak()
    {
        if (CanReset) TryReset();
    }

    /// <summary>The resident size to count training memory from, taken now, and a new peak window. Call it after
    /// loading the data and building the model, before the first step; it collects first, so garbage from loading
    /// does not count as baseline.</summary>
    public static long MarkBaseline()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long baseline = ResidentBytes();
        ResetPeak();
        return baseline;
    }

    /// <summary>The current window's peak in MiB (2²⁰ bytes): above <paramref name="baseline"/> (training memory) and
    /// of the whole process.</summary>
    public static (double TrainingMb, double ProcessMb) WindowPeakMb(long baseline)
    {
        long peak = PeakResidentBytes();
        return (Math.Max(0, peak - baseline) / Mebibyte, peak / Mebibyte);
    }

    const double Mebibyte = 1024.0 * 1024.0;

    static bool TryReset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException) { return false; }
    }

    static long Read(string key)
    {
        try
        {
            foreach (var line in File.ReadLines(Status))
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    // "VmHWM:	  123456 kB"
                    var parts = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1024;
                }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return 0;
    }
}
