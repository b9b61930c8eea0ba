using Frugal.Diagnostics;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// The largest batch whose training fits under a memory cap (METHODS.md §4.4: local training holds less of the graph
/// at once, so a larger batch fits the same memory). The search is exact over whole batch sizes for a monotone
/// "fits" (memory grows with the batch): doubling from 1 to the first size that does not fit, then bisection, about
/// 2·log2(B) probes. What it measures is only as exact as the probe: <see cref="TrainingMemoryMb"/> reads the
/// kernel's high-water mark, page-exact but moved by a few MiB of GC and buffer-pool timing, so the boundary it
/// reports is good to the batch size that a few MiB buy.
/// </summary>
public static class LargestBatch
{
    /// <summary>The largest b in [1, <paramref name="max"/>] with <paramref name="fits"/>(b), for a
    /// <paramref name="fits"/> that is true up to a boundary and false after it; 0 when even 1 does not fit.</summary>
    public static int Search(Func<int, bool> fits, int max)
    {
        if (max < 1) throw new ArgumentOutOfRangeException(nameof(max), max, "largest batch: the largest batch to try must be at least 1");
        if (!fits(1)) return 0;
        int good = 1, bad = max + 1;
        // Doubling: good fits, and the first failure bounds the bisection.
        while (good < max)
        {
            int next = (int)Math.Min(max, 2L * good);
            if (!fits(next)) { bad = next; break; }
            good = next;
        }
        while (bad - good > 1)
        {
            int mid = good + (bad - good) / 2;
            if (fits(mid)) good = mid; else bad = mid;
        }
        return good;
    }

    /// <summary>
    /// Training memory of <paramref name="probe"/> in MiB: the process's peak resident size while it runs, above the
    /// resident size just before (<see cref="PeakMemory"/>). Run it on a fresh thread, so the CPU buffer pool of an
    /// earlier, larger probe (kept per thread) is garbage; a full compacting collection before it returns freed memory
    /// to the OS, so probes do not inherit each other's peak. 0 where the OS does not say.
    /// </summary>
    public static double TrainingMemoryMb(Action probe)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        long baseline = PeakMemory.MarkBaseline();
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { probe(); }
            catch (Exception e) { failure = e; }
        }) { Name = "largest-batch probe" };
        thread.Start();
        thread.Join();
        if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return PeakMemory.WindowPeakMb(baseline).TrainingMb;
    }
}
