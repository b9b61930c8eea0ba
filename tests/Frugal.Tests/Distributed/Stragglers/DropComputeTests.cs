using Frugal.Distributed;
using Frugal.Distributed.Stragglers;

namespace Frugal.Tests.Distributed.Stragglers;

/// <summary>
/// The per-worker policy on a virtual clock (<see cref="VirtualWorker"/>): where the checks stop a step, what is
/// discarded, the warm-up, the straggler sleeps and their truncation at τ, the automatic τ agreed by all ranks, and
/// the random-drop mode.
/// </summary>
public class DropComputeTests
{
    static readonly double[] TenMs = Enumerable.Repeat(0.010, 12).ToArray();

    [Fact]
    public void Stops_drawing_once_the_threshold_has_passed_and_discards_the_micro_batch_in_flight()
    {
        var w = new VirtualWorker();
        var dc = w.Create(new DropComputeOptions { Threshold = 0.055, WarmupSteps = 0 }, 12, new SingleProcessGroup());
        // Micro-batch 6 starts at 50 ms, its forward ends at 53.3 ms < τ: it completes at 60 ms, then nothing more.
        Assert.Equal(0.060, w.Step(dc, TenMs), 12);
        Assert.Equal(6, dc.Completed);
        // τ = 52 ms: micro-batch 6's forward ends past τ, so it is discarded before its backward.
        dc = w.Create(new DropComputeOptions { Threshold = 0.052, WarmupSteps = 0 }, 12, new SingleProcessGroup());
        Assert.Equal(0.050 + 0.010 / 3, w.Step(dc, TenMs), 12);
        Assert.Equal(5, dc.Completed);
        // Without the check before backward it completes.
        dc = w.Create(new DropComputeOptions { Threshold = 0.052, WarmupSteps = 0, CheckBeforeBackward = false }, 12, new SingleProcessGroup());
        w.Step(dc, TenMs);
        Assert.Equal(6, dc.Completed);
        var figures = new Dictionary<string, object>();
        dc.CollectEpochFigures(figures);
        Assert.Equal(0.5, (double)figures["drop_rate"], 12);
        Assert.Equal(0.052, (double)figures["drop_threshold_seconds"]);
        Assert.Equal(6.0, (double)figures["drop_completed_mean"]);
    }

    [Fact]
    public void Nothing_is_dropped_or_injected_during_the_warm_up()
    {
        var w = new VirtualWorker();
        var dc = w.Create(new DropComputeOptions { Threshold = 0.001, WarmupSteps = 3, StragglerDelay = 2 }, 12, new SingleProcessGroup());
        Assert.Equal(0.001, dc.Threshold);
        for (int s = 0; s < 3; s++)
        {
            Assert.Equal(0.120, w.Step(dc, TenMs), 12);
            Assert.Equal(12, dc.Completed);
        }
        w.Step(dc, TenMs);
        Assert.Equal(0, dc.Completed);     // τ = 1 ms: the first micro-batch's forward ends at 3.3 ms, past τ: discarded
    }

    [Fact]
    public void More_straggler_delay_drops_more_and_a_large_threshold_drops_nothing()
    {
        double DropRate(double delay, double tau)
        {
            var w = new VirtualWorker();
            var dc = w.Create(new DropComputeOptions { Threshold = tau, WarmupSteps = 0, StragglerDelay = delay }, 12, new SingleProcessGroup(), seed: 11);
            double longest = 0;
            for (int s = 0; s < 100; s++) longest = Math.Max(longest, w.Step(dc, TenMs));
            // Sleeps are truncated at τ: a step ends at most one micro-batch's compute past τ.
            Assert.True(longest <= tau + 0.010 + 1e-12, $"a step took {longest} s with τ = {tau}");
            var f = new Dictionary<string, object>();
            dc.CollectEpochFigures(f);
            Assert.Equal(delay > 0, (double)f["drop_injected_seconds"] > 0);
            return (double)f["drop_rate"];
        }
        double[] rates = [DropRate(0, 0.13), DropRate(0.5, 0.13), DropRate(1, 0.13), DropRate(2, 0.13)];
        Assert.Equal(0, rates[0]);
        for (int i = 1; i < rates.Length; i++) Assert.True(rates[i] > rates[i - 1], $"drop rates {string.Join(", ", rates)}");
        // F = 1 adds half a micro-batch on average: about a third of 12 micro-batches no longer fit in 130 ms.
        Assert.InRange(rates[2], 0.15, 0.5);
        Assert.Equal(0, DropRate(2, 100));
    }

    [Fact]
    public void Follows_the_virtual_clock_simulation_micro_batch_for_micro_batch()
    {
        // One worker with the simulation's latencies (normal, keyed like the simulation's worker 0) and straggler sleeps:
        // DropCompute and VirtualClockSimulation implement the same checks, so they complete the same micro-batches.
        var settings = new VirtualClockSettings { Workers = 1, MicroBatches = 12, Steps = 150, MeanSeconds = 0.05, Cv = 0.3, StragglerDelay = 1, Threshold = 0.7, Seed = 5 };
        var sim = VirtualClockSimulation.Run(settings);
        var w = new VirtualWorker();
        var dc = w.Create(new DropComputeOptions { Threshold = 0.7, WarmupSteps = 0, StragglerDelay = 1 }, 12, new SingleProcessGroup(), seed: 5);
        double total = 0;
        for (int s = 0; s < settings.Steps; s++) total += w.Step(dc, VirtualClockSimulationTests.Compute(settings, 0, s));
        var f = new Dictionary<string, object>();
        dc.CollectEpochFigures(f);
        Assert.Equal(sim.DropRate, (double)f["drop_rate"], 9);
        Assert.Equal(sim.DropStepSeconds, total / settings.Steps, 9);
        Assert.True(sim.DropRate > 0.02, $"drop rate {sim.DropRate}: the case must drop something");
    }

    [Fact]
    public void Calibration_sets_the_same_threshold_on_every_rank_and_it_cuts_the_straggler()
    {
        const int ranks = 4, m = 6, warmup = 2, calibration = 8;
        var taus = new double?[ranks];
        var before = new double?[ranks];
        var completedAfter = new int[ranks];
        var choices = new AutoThreshold.Choice?[ranks];
        var latencies = new double[ranks][];
        InProcessGroup.Run(ranks, g =>
        {
            var w = new VirtualWorker();
            var dc = w.Create(new DropComputeOptions { WarmupSteps = warmup, CalibrationSteps = calibration }, m, g, seed: 1);
            var rows = new List<double>();
            for (int s = 0; s < warmup + calibration + 5; s++)
            {
                // Rank 3 straggles on its last micro-batch (+100 ms); every rank's times vary a little with step and rank.
                var compute = Enumerable.Range(0, m).Select(k => 0.010 + 0.0005 * ((s * 7 + k * 3 + g.Rank) % 5)
                                                                 + (g.Rank == 3 && k == m - 1 ? 0.1 : 0)).ToArray();
                if (s == warmup + calibration - 1) before[g.Rank] = dc.Threshold;
                if (s >= warmup && s < warmup + calibration) rows.AddRange(compute);
                w.Step(dc, compute);
                if (s == warmup + calibration + 4) completedAfter[g.Rank] = dc.Completed;
            }
            taus[g.Rank] = dc.Threshold;
            choices[g.Rank] = dc.Calibration;
            latencies[g.Rank] = rows.ToArray();
        });
        Assert.All(before, t => Assert.Null(t));
        Assert.NotNull(taus[0]);
        Assert.All(taus, t => Assert.Equal(taus[0], t));
        // The τ of the definition on the same data (step time = max compute: no overhead on a virtual clock).
        var c = latencies.SelectMany(r => r).ToArray();
        AutoThreshold.Accumulate(c, m);
        Assert.Equal(AutoThreshold.Choose(c, ranks, calibration, m, 0).Threshold, taus[0]!.Value, 12);
        Assert.True(taus[0] < 0.1, $"τ = {taus[0]} should cut the 100 ms tail");
        Assert.Equal(m, completedAfter[0]);
        Assert.True(completedAfter[3] < m, "the straggler drops its last micro-batch");
        Assert.Equal(taus[0], choices[0]!.Value.Threshold);
    }

    [Fact]
    public void Random_drop_discards_whole_gradients_at_the_rate_asked()
    {
        const double p = 0.2;
        const int steps = 3000, warmup = 5;
        var discarded = new bool[2][];
        InProcessGroup.Run(2, g =>
        {
            var w = new VirtualWorker();
            var dc = w.Create(new DropComputeOptions { DropRate = p, WarmupSteps = warmup }, 2, g, seed: 9);
            var d = new bool[steps];
            for (int s = 0; s < steps; s++)
            {
                w.Step(dc, [0.001, 0.001]);
                d[s] = dc.DiscardGradient;
                Assert.Equal(2, dc.Completed);
                Assert.Equal(d[s] ? 0 : 2, dc.Contributed);
            }
            discarded[g.Rank] = d;
            var f = new Dictionary<string, object>();
            dc.CollectEpochFigures(f);
            Assert.Equal(d.Count(x => x), (long)f["drop_discarded_steps"]);
        });
        foreach (var d in discarded)
        {
            Assert.DoesNotContain(true, d.Take(warmup));
            double rate = d.Skip(warmup).Count(x => x) / (double)(steps - warmup);
            Assert.InRange(rate, p - 4 * Math.Sqrt(p * (1 - p) / steps), p + 4 * Math.Sqrt(p * (1 - p) / steps));
        }
        Assert.NotEqual(discarded[0], discarded[1]);
    }

    [Fact]
    public void Normalisation_divides_by_the_nominal_or_the_actual_count()
    {
        InProcessGroup.Run(2, g =>
        {
            var nominal = new DropCompute(new DropComputeOptions { Threshold = 1 }, 6, g, 0);
            var actual = new DropCompute(new DropComputeOptions { Threshold = 1, Normalization = DropComputeNormalization.Actual }, 6, g, 0);
            Assert.Equal(12, nominal.Divisor(7));
            Assert.Equal(7, actual.Divisor(7));
            Assert.Equal(12, actual.Divisor(0));
        });
    }

    [Fact]
    public void Off_mode_drops_nothing_but_still_injects_stragglers()
    {
        var w = new VirtualWorker();
        var dc = w.Create(new DropComputeOptions { Drop = false, WarmupSteps = 0, StragglerDelay = 1 }, 12, new SingleProcessGroup());
        for (int s = 0; s < 60; s++)
        {
            Assert.True(w.Step(dc, TenMs) > 0.120);
            Assert.Equal(12, dc.Completed);
        }
        Assert.Null(dc.Threshold);
    }

    [Fact]
    public void Misuse_is_an_error()
    {
        var dc = new VirtualWorker().Create(new DropComputeOptions { Threshold = 1 }, 2, new SingleProcessGroup());
        Assert.Throws<InvalidOperationException>(() => dc.BeforeMicroBatch());
        dc.BeginStep();
        Assert.Throws<InvalidOperationException>(() => dc.AfterMicroBatch());
        Assert.True(dc.BeforeMicroBatch());
        Assert.Throws<InvalidOperationException>(() => dc.EndStep(0));
        dc.AfterMicroBatch();
        Assert.True(dc.BeforeMicroBatch());
        dc.AfterMicroBatch();
        Assert.False(dc.BeforeMicroBatch());   // all M have run
        dc.EndStep(0);
    }
}
