using Frugal.Methods.Approximate;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Approximate;

public class AutoKeepTests
{
    static LayerCost Layer(string name, double exactMs, params (double Keep, double Ms, double Error)[] options) =>
        new(name, exactMs, options.Select(o => new KeepCost(o.Keep, o.Ms, o.Error)).ToList());

    [Fact]
    public void A_layer_that_costs_nothing_stays_exact_and_the_budget_buys_the_cheapest_error_first()
    {
        var layers = new[]
        {
            Layer("big", 100, (0.5, 55, 0.30), (0.7, 75, 0.15), (0.9, 92, 0.05)),
            Layer("free", 0.5, (0.5, 0.3, 0.01), (0.7, 0.4, 0.005), (0.9, 0.45, 0.001)),   // saves < 3% of 100.5 ms
            Layer("mid", 40, (0.5, 24, 0.50), (0.7, 30, 0.20), (0.9, 37, 0.10)),
        };
        // Rates from exact: big 0.9 → 160 ms per unit error, 0.7 → 167, 0.5 → 150; mid 0.9 → 30, 0.7 → 50, 0.5 → 32.
        Assert.Equal([0.7, 1.0, 1.0], AutoKeep.Choose(layers, errorBudget: 0.2, minSaving: 0.03));
        // A larger budget moves big on to 0.5 (+20 ms for +0.15) before mid to 0.7 (+10 ms for +0.2).
        Assert.Equal([0.5, 1.0, 0.7], AutoKeep.Choose(layers, errorBudget: 0.5, minSaving: 0.03));
        // With no floor on the saving, an unlimited budget samples every layer at the lowest keep.
        Assert.Equal([0.5, 0.5, 0.5], AutoKeep.Choose(layers, errorBudget: 10, minSaving: 0));
        // No budget: everything exact.
        Assert.Equal([1.0, 1.0, 1.0], AutoKeep.Choose(layers, errorBudget: 0, minSaving: 0));
        Assert.Equal("big=0.5,mid=0.7", AutoKeep.Spec(["big", "free", "mid"], [0.5, 1, 0.7]));
        Assert.Equal("none", AutoKeep.Spec(["big"], [1.0]));
    }

    [Fact]
    public void A_sampled_layer_slower_than_exact_stays_exact_and_keeps_stay_within_the_candidates()
    {
        var layers = new[] { Layer("slow", 10, (0.5, 12, 0.1), (0.7, 11, 0.05)), Layer("ok", 10, (0.3, 4, 0.2), (0.5, 6, 0.1)) };
        var keeps = AutoKeep.Choose(layers, errorBudget: 1, minSaving: 0);
        Assert.Equal([1.0, 0.3], keeps);
        var rng = new Random(5);
        for (int t = 0; t < 200; t++)
        {
            var random = Enumerable.Range(0, 4).Select(i => Layer($"{i}", rng.NextDouble() * 10,
                [.. new[] { 0.3, 0.5, 0.7, 0.9 }.Select(k => (k, rng.NextDouble() * 10, rng.NextDouble()))])).ToArray();
            double budget = rng.NextDouble() * 2;
            var chosen = AutoKeep.Choose(random, budget, 0.01);
            double error = 0;
            for (int i = 0; i < random.Length; i++)
            {
                Assert.True(chosen[i] == 1 || random[i].Options.Any(o => o.Keep == chosen[i]), $"keep {chosen[i]} is not a candidate");
                var pick = random[i].Options.FirstOrDefault(o => o.Keep == chosen[i]);
                if (pick != null) { error += pick.Error; Assert.True(pick.Ms < random[i].ExactMs, "a chosen keep must be faster than exact"); }
            }
            Assert.True(error <= budget + 1e-12, $"error {error} over budget {budget}");
        }
        Assert.Throws<ArgumentException>(() => AutoKeep.Choose(layers, -1, 0));
        Assert.Throws<ArgumentException>(() => AutoKeep.Choose(layers, 1, 1));
    }

    /// <summary>Would fail if layers = auto silently left sampling off: with costs proportional to the kept MACs (a stand-in
    /// meter, so nothing is timed) and an ample budget, the first step runs exact, and from the second step on the chosen
    /// layers run with k = ⌊keep·n⌋ &lt; n and approx_flops_ratio &lt; 1; the small classifier is not a candidate and the
    /// choice is logged as a layer spec.</summary>
    [Fact]
    public void Auto_runs_the_first_step_exact_then_samples_with_the_chosen_keeps()
    {
        var model = ModelZoo.Build("mlp", new ModelOptions(Hidden: [64, 48]), seed: 1);
        var method = new CrsApproximation(new ApproxSettings(new TopKSampler(), 0.5, 1), layers: "auto", seed: 2, errorBudget: 0.4, minSaving: 0.05)
        {
            Meter = (name, layer, keeps) =>
            {
                double macs = layer is Linear l ? (double)l.InFeatures * l.OutFeatures / 1000 : 0;
                return new LayerCost(name, macs, keeps.Select(k => new KeepCost(k, k * macs, 0.6 * (1 - k))).ToList());
            },
        };
        method.Attach(model);
        Assert.Equal(["1", "3"], method.Layers.Select(l => l.Name));
        void Step(int batch)
        {
            method.OnStep(1, batch, 10);
            var x = Tensor.Randn(new Shape(8, 1, 28, 28), new Generator((ulong)batch + 1));
            model.Call(x).CrossEntropy(Enumerable.Range(0, 8).Select(i => i % 10).ToArray()).Backward();
        }
        Step(0);
        Assert.Null(method.AutoKeeps);
        var first = new Dictionary<string, object>();
        method.CollectEpochFigures(first);
        Assert.Equal(1.0, first["approx_flops_ratio"]);

        Step(1); Step(2);
        // Costs 50.2 (784·64) and 3.1 (64·48) ms-units: layer 1 to 0.5 buys 25 units for 0.3 error; layer 3 at 0.9
        // would buy 0.3 < 5% of 53.
        Assert.Equal("1=0.5", method.AutoKeeps);
        var figures = new Dictionary<string, object>();
        method.CollectEpochFigures(figures);
        Assert.Equal("1=0.5", figures["approx_auto_keeps"]);
        Assert.True(figures.ContainsKey("approx_auto_costs"));
        var layer1 = (Dictionary<string, object>)((Dictionary<string, object>)figures["approx_layers"])["1"];
        Assert.Equal(0.5, layer1["keep"]);
        Assert.Equal(392.0, layer1["mean_k"]);
        Assert.True((double)figures["approx_flops_ratio"] < 0.6, $"ratio {figures["approx_flops_ratio"]}");
    }

    /// <summary>The real meter on a real layer: positive times, Top-k's error falls as the keep grows and is 0-ish only
    /// when nothing is dropped, and the layer's gradients are as they were (measuring must not leak into training).</summary>
    [Fact]
    public void The_meter_measures_positive_times_and_falling_errors_and_restores_the_gradients()
    {
        var g = new Generator(3);
        var lin = new Linear(96, 40, generator: g);
        var kept = Tensor.Randn(lin.Weight.Shape, g);
        lin.Weight.Grad = kept;
        var x = Tensor.Randn(new Shape(16, 96), g);
        var cost = LayerCostMeter.Measure("l", lin, x, inputNeedsGrad: true, new ApproxSettings(new TopKSampler(), 0.5, 1), [0.3, 0.6, 0.9], g, reps: 1);
        Assert.True(cost.ExactMs > 0);
        Assert.All(cost.Options, o => Assert.True(o.Ms > 0));
        Assert.True(cost.Options[0].Error > cost.Options[1].Error && cost.Options[1].Error > cost.Options[2].Error && cost.Options[2].Error > 0,
            string.Join(", ", cost.Options.Select(o => o.Error)));
        Assert.Same(kept, lin.Weight.Grad);
        Assert.Null(lin.Bias!.Grad);
    }

    /// <summary>The meter times a layer only after its passes have run often enough to be optimised code: the exact
    /// layer runs once for the reference output, then in every warm-up round (at least 10) and every timed round.</summary>
    [Fact]
    public void The_meter_warms_the_passes_up_before_it_times_them()
    {
        var g = new Generator(4);
        var lin = new Linear(64, 32, generator: g);
        int calls = 0;
        lin.RegisterForwardHook((_, y) => { calls++; return y; });
        LayerCostMeter.Measure("l", lin, Tensor.Randn(new Shape(8, 64), g), inputNeedsGrad: true, new ApproxSettings(new TopKSampler(), 0.5, 1), [0.5], g, reps: 2);
        Assert.True(calls >= 1 + 10 + 2, $"the exact layer ran {calls} times");
    }
}
