using System.Diagnostics;

namespace Frugal.Autograd;

/// <summary>
/// Opt-in wall-time accounting for `frugal bench step`: forward time per module type (Sequential
/// children) and backward time per autograd Function type. Off by default; when off it costs one branch.
/// </summary>
public static class Profiler
{
    public static bool Enabled { get; set; }
    static readonly Dictionary<string, (double Ms, long Calls)> _totals = [];

    public static void Add(string key, long startTimestamp)
    {
        double ms = Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;
        lock (_totals)
        {
            _totals.TryGetValue(key, out var t);
            _totals[key] = (t.Ms + ms, t.Calls + 1);
        }
    }

    public static IReadOnlyDictionary<string, (double Ms, long Calls)> Snapshot()
    {
        lock (_totals) return new Dictionary<string, (double, long)>(_totals);
    }

    public static void Reset()
    {
        lock (_totals) _totals.Clear();
    }
}
