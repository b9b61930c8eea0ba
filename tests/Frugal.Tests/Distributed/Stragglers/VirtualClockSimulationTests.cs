using Frugal.Distributed.Stragglers;

namespace Frugal.Tests.Distributed.Stragglers;

/// <summary>The virtual-clock simulation against the theory of METHODS.md §3, where the theory's assumptions hold
/// (normal latencies, many micro-batches).</summary>
public class VirtualClockSimulationTests
{
    /// <summary>The compute times the simulation gives worker <paramref name="worker"/> in <paramref name="step"/>.</summary>
    internal static double[] Compute(VirtualClockSettings s, int worker, long step) =>
        Enumerable.Range(0, s.MicroBatches).Select(k => VirtualClockSimulation.ComputeTime(s, null, worker, step, k)).ToArray();

    [Theory]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(256)]
    [InlineData(1024)]
    public void Synchronous_step_time_follows_the_expected_maximum(int workers)
    {
        var r = VirtualClockSimulation.Run(new VirtualClockSettings { Workers = workers, MicroBatches = 12, Steps = 300, MeanSeconds = 0.05, Cv = 0.2, Threshold = 1, Seed = 1 });
        Assert.InRange(r.SyncStepSeconds / r.TheoryExpectedMax, 0.98, 1.03);
        // And it grows with N, as the straggler overhead σ√(2M ln N) does.
        Assert.True(r.SyncStepSeconds > 0.6 + 0.5 * 0.01 * Math.Sqrt(12 * 2 * Math.Log(workers)));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(1024)]
    public void Effective_speedup_matches_theory(int workers)
    {
        // 48 micro-batches: the micro-batch in flight at τ (a check is no preemption) is a small part of a step.
        var s = new VirtualClockSettings { Workers = workers, MicroBatches = 48, Steps = 100, MeanSeconds = 0.05, Cv = 0.3, Threshold = 48 * 0.05 * 1.02, Seed = 2 };
        var r = VirtualClockSimulation.Run(s);
        Assert.InRange(r.Speedup / r.TheorySpeedup, 0.95, 1.05);
        Assert.InRange(r.DropRate - r.TheoryDropRate, -0.03, 0.01);
        Assert.True(r.Speedup > 1.05, $"speed-up {r.Speedup}: the case must gain");
    }

    [Fact]
    public void A_large_threshold_changes_nothing_and_stragglers_slow_the_synchronous_step()
    {
        var s = new VirtualClockSettings { Workers = 32, Steps = 50, Threshold = 100, StragglerDelay = 1 };
        var r = VirtualClockSimulation.Run(s);
        Assert.Equal(0, r.DropRate);
        Assert.Equal(1, r.Speedup, 12);
        Assert.Equal(r.SyncStepSeconds, r.DropStepSeconds, 12);
        var calm = VirtualClockSimulation.Run(s with { StragglerDelay = 0 });
        Assert.True(r.SyncStepSeconds > 1.4 * calm.SyncStepSeconds);
        Assert.Equal(0.075, r.LatencyMean, 12);
    }

    [Fact]
    public void Automatic_threshold_drops_stragglers_and_gains()
    {
        var s = new VirtualClockSettings { Workers = 256, Steps = 100, StragglerDelay = 1, CommSeconds = 0.02, Seed = 4 };
        var r = VirtualClockSimulation.Run(s);
        Assert.NotNull(r.Calibration);
        Assert.True(r.Threshold < r.SyncStepSeconds);
        Assert.InRange(r.DropRate, 0.01, 0.3);
        Assert.True(r.Speedup > 1.2, $"speed-up {r.Speedup}");
        Assert.Equal(r, VirtualClockSimulation.Run(s));                          // deterministic
        Assert.NotEqual(r.SyncStepSeconds, VirtualClockSimulation.Run(s with { Seed = 5 }).SyncStepSeconds);
    }

    [Fact]
    public void Replays_measured_latencies()
    {
        var s = new VirtualClockSettings { Workers = 8, Steps = 50, Threshold = 1, MeasuredLatencies = [0.04, 0.05, 0.06] };
        var r = VirtualClockSimulation.Run(s);
        Assert.Equal(0.05, r.LatencyMean, 12);
        Assert.Equal(Math.Sqrt(2.0 / 3) * 0.01, r.LatencyStd, 12);
        Assert.InRange(r.SyncStepSeconds, 12 * 0.05, 12 * 0.06);
    }

    [Fact]
    public void Bad_settings_name_their_key()
    {
        Assert.Equal("workers", Assert.Throws<Frugal.Options.OptionException>(() => VirtualClockSimulation.Run(new VirtualClockSettings { Workers = 0 })).Key);
        Assert.Equal("micro_batches", Assert.Throws<Frugal.Options.OptionException>(() => VirtualClockSimulation.Run(new VirtualClockSettings { MicroBatches = 5 })).Key);
        Assert.Equal("latencies", Assert.Throws<Frugal.Options.OptionException>(() => VirtualClockSimulation.Run(new VirtualClockSettings { MeasuredLatencies = [] })).Key);
    }
}
