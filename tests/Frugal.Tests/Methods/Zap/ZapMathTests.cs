using Frugal.Methods.Zap;
using Frugal.Options;
using Xunit;

namespace Frugal.Tests.Methods.Zap;

/// <summary>Spatial patterns, MAC accounting and the per-layer threshold solver (../shared/METHODS.md §6).</summary>
public class ZapMathTests
{
    [Fact]
    public void Patterns_compute_their_named_share_and_every_predicted_position_sees_a_computed_neighbour()
    {
        foreach (var p in SpatialPattern.All)
        {
            double named = double.Parse(p.Name) / 100;
            Assert.InRange(p.ComputedFraction, named - 0.005, named + 0.005);
            var mask = p.Mask(30, 30);   // 30 is a multiple of 2, 3 and 5: exact
            Assert.Equal(p.ComputedFraction, mask.Average(v => v), 6);
            Assert.Equal(mask.Count(v => v == 1), p.Positions(30, 30, computed: true).Length);
            for (int h = 1; h < 29; h++)
                for (int w = 1; w < 29; w++)
                    if (!p.IsComputed(h, w))
                        Assert.True(Enumerable.Range(-1, 3).Any(dh => Enumerable.Range(-1, 3).Any(dw => p.IsComputed(h + dh, w + dw))),
                            $"pattern {p.Name}: ({h}, {w}) has no computed neighbour");
        }
        Assert.True(SpatialPattern.Get("50").IsComputed(0, 0) && !SpatialPattern.Get("50").IsComputed(0, 1) && SpatialPattern.Get("50").IsComputed(1, 1));
        Assert.False(SpatialPattern.Get("75").IsComputed(1, 1));
        Assert.Equal("pattern", Assert.Throws<OptionException>(() => SpatialPattern.Get("13")).Key);
    }

    [Fact]
    public void Net_saved_macs_subtract_the_predictors_cost()
    {
        // conv 32→64, 3×3, on 14×14: 288 MACs per output; predictor 2·9·64·196 = 225 792 MACs per image.
        long perOutput = ZapMath.MacsPerOutput(32, 1, 3, 3);
        long predictor = ZapPredictor.MacsPerImage(64, 14, 14);
        Assert.Equal(288, perOutput);
        Assert.Equal(225_792, predictor);
        Assert.Equal(1000 * 288 - 225_792, ZapMath.NetSavedMacs(1000, perOutput, predictor));
        // 1→32 stem: 9 MACs per output, less than the predictor's 18 per element: never pays.
        Assert.True(ZapMath.NetSavedMacs(32 * 784, ZapMath.MacsPerOutput(1, 1, 3, 3), ZapPredictor.MacsPerImage(32, 28, 28)) < 0);
        var layer = new ZapLayerMacs("5", "3", 0.5, 7_225_344, 451_584, 10_000, 288, 0.01, 32 * 784);
        var report = new ZapMacReport(19_094_528, [layer]);
        Assert.Equal(10_000 * 288 - 451_584, report.NetSavedMacs);
        Assert.Equal((10_000 * 288 - 451_584) / 19_094_528.0, report.NetSavedFraction, 12);
        Assert.Equal(0.25, ZapMath.Error(75, 100), 12);
    }

    [Fact]
    public void Solver_respects_the_budget_and_finds_the_best_mix()
    {
        // Two layers; layer 0 cheap errors, layer 1 expensive. Budget 0.31: best is layer 0 option 2 (saved 9, err 0.2)
        // + layer 1 option 0 (saved 5, err 0.1) = 14; brute force agrees.
        double[][] saved = [[3, 6, 9], [5, 10, 20]];
        double[][] error = [[0.05, 0.1, 0.2], [0.1, 0.3, 0.6]];
        Assert.Equal([2, 0], ThresholdSolver.Solve(saved, error, 0.31));
        Assert.Equal([-1, -1], ThresholdSolver.Solve(saved, error, 0.01));
        var g = new Tensors.Generator(7);
        for (int trial = 0; trial < 200; trial++)
        {
            int layers = 1 + g.NextInt(4), options = 1 + g.NextInt(5);
            var s = Enumerable.Range(0, layers).Select(_ => Enumerable.Range(0, options).Select(_ => g.NextDouble() * 10 - 2).ToArray()).ToArray();
            var e = Enumerable.Range(0, layers).Select(_ => Enumerable.Range(0, options).Select(_ => g.NextDouble() * 0.2).ToArray()).ToArray();
            double budget = g.NextDouble() * 0.4;
            var c = ThresholdSolver.Solve(s, e, budget);
            double err = c.Select((k, l) => k < 0 ? 0 : e[l][k]).Sum(), got = c.Select((k, l) => k < 0 ? 0 : s[l][k]).Sum();
            Assert.True(err <= budget + 1e-12, $"trial {trial}: error {err} over budget {budget}");
            Assert.Equal(BruteForce(s, e, budget), got, 9);
        }
    }

    static double BruteForce(double[][] s, double[][] e, double budget, int l = 0, double err = 0)
    {
        if (err > budget) return double.NegativeInfinity;
        if (l == s.Length) return 0;
        double best = BruteForce(s, e, budget, l + 1, err);
        for (int k = 0; k < s[l].Length; k++) best = Math.Max(best, s[l][k] + BruteForce(s, e, budget, l + 1, err + e[l][k]));
        return best;
    }
}
