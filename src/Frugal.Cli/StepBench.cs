using System.Diagnostics;
using Frugal.Autograd;
using Frugal.Diagnostics;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Methods;
using Frugal.Options;
using Frugal.Runs;

namespace Frugal.Cli;

/// <summary>
/// `frugal bench step`: where a training step's time goes (the profile issue 3 asks for when a target is missed), with
/// the run's methods attached (e.g. --approx crs --keep 0.5); `--compare` alternates that model with the exact one in
/// rounds, so both see the same machine load, and reports the speed-up.
/// </summary>
static class StepBench
{
    /// <summary>A model with its methods and optimizer, stepping on one fixed random batch.</summary>
    sealed class Stepper
    {
        readonly Module _model;
        readonly Optimizer _opt;
        readonly Tensor _x;
        readonly int[] _y;
        readonly Device _device;

        readonly IReadOnlyList<ITrainingMethod> _methods;
        int _batch;

        /// <summary>What layers = auto measured and chose, one line per layer (none before the second step).</summary>
        public IEnumerable<string> AutoKeepReport()
        {
            foreach (var crs in _methods.OfType<Frugal.Methods.Approximate.CrsApproximation>())
            {
                if (crs.AutoCosts == null) continue;
                yield return $"  approx auto keeps {crs.AutoKeeps}; measured fwd+bwd ms (relative error):";
                foreach (var c in crs.AutoCosts)
                    yield return $"    {c.Name,-10} exact {c.ExactMs,7:F2}   " + string.Join("   ", c.Options.Select(k => $"keep {k.Keep:0.##}: {k.Ms,7:F2} ({k.Error:F3})"));
            }
        }

        /// <summary>With <paramref name="attachMethods"/> false, the exact model of the same options (the baseline of --compare).</summary>
        public Stepper(TrainOptions o, bool attachMethods = true)
        {
            _device = Device.Parse(o.Device);
            _model = ModelZoo.Build(o.Model, o.ModelOptions, o.Seed).To(_device);
            _methods = attachMethods ? o.CreateMethods() : [];
            foreach (var m in _methods) m.Attach(_model);
            _opt = OptimizerFactory.Create(o, _model);
            var g = new Generator(1);
            _x = Tensor.Randn(new Shape(o.BatchSize, 1, 28, 28), g, _device);
            _y = Enumerable.Range(0, o.BatchSize).Select(_ => g.NextInt(10)).ToArray();
        }

        /// <summary>One step; returns forward, backward and optimizer milliseconds.</summary>
        public (double Fwd, double Bwd, double Upd) Step()
        {
            // On a GPU each phase is timed to the end of its kernels (a synchronisation per phase: slightly pessimistic).
            // The steps form one endless epoch, so methods see the step counter the Trainer would give them.
            foreach (var m in _methods) m.OnStep(1, _batch, int.MaxValue);
            _batch++;
            var scope = _device.BeginStep();
            long t0 = Stopwatch.GetTimestamp();
            var loss = _model.Call(_x).CrossEntropy(_y);
            _device.Synchronize();
            long t1 = Stopwatch.GetTimestamp();
            _opt.ZeroGrad();
            loss.Backward();
            _device.Synchronize();
            long t2 = Stopwatch.GetTimestamp();
            _opt.Step();
            loss = null!;
            scope.Dispose();
            _device.Synchronize();
            long t3 = Stopwatch.GetTimestamp();
            return (Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds, Stopwatch.GetElapsedTime(t1, t2).TotalMilliseconds,
                    Stopwatch.GetElapsedTime(t2, t3).TotalMilliseconds);
        }
    }

    public static void Run(TrainOptions o, int steps, int compareRounds)
    {
        Generator.ManualSeed(o.Seed);
        if (compareRounds > 0) { Compare(o, steps, compareRounds); return; }
        var stepper = new Stepper(o);
        double fwd = 0, bwd = 0, upd = 0;
        int gc0 = 0, gc1 = 0, gc2 = 0;
        TimeSpan pause = default;
        WarmUp(stepper);
        for (int s = 0; s < steps; s++)
        {
            if (s == 0)
            {
                Profiler.Enabled = true; Profiler.Reset();
                gc0 = GC.CollectionCount(0); gc1 = GC.CollectionCount(1); gc2 = GC.CollectionCount(2);
                pause = GC.GetTotalPauseDuration();
            }
            var (f, b, u) = stepper.Step();
            fwd += f; bwd += b; upd += u;
        }
        Profiler.Enabled = false;
        foreach (var line in stepper.AutoKeepReport()) Console.WriteLine(line);
        double total = fwd + bwd + upd;
        Console.WriteLine($"{o.Model}{Describe(o)} on {o.Device}, batch {o.BatchSize}, {steps} steps: {total / steps:F2} ms/step = {o.BatchSize * steps / (total / 1000):F0} samples/s");
        Console.WriteLine($"  forward {fwd / steps:F2} ms, backward {bwd / steps:F2} ms, optimizer + buffer recycling {upd / steps:F2} ms");
        Console.WriteLine($"  GCs gen0/1/2: {GC.CollectionCount(0) - gc0}/{GC.CollectionCount(1) - gc1}/{GC.CollectionCount(2) - gc2}, GC pause {(GC.GetTotalPauseDuration() - pause).TotalMilliseconds / steps:F2} ms/step");
        var profile = Profiler.Snapshot();
        foreach (var (k, v) in profile.OrderByDescending(p => p.Value.Ms))
            Console.WriteLine($"  {k,-34} {v.Ms / steps,8:F2} ms/step  ({(double)v.Calls / steps:0.##} calls)");
        if (profile.TryGetValue(MatMul.GemmKey, out var gemm))
            Console.WriteLine($"  step outside the linear-layer GEMMs {(total - gemm.Ms) / steps,7:F2} ms/step");
    }

    /// <summary>The methods' run-config sections, as JSON.</summary>
    static string Describe(TrainOptions o) =>
        (o.Approx == null ? "" : $" approx {OptionsJson.Write(o.Approx, indented: false)}") +
        (o.GradPrune == null ? "" : $" grad_prune {OptionsJson.Write(o.GradPrune, indented: false)}") +
        (o.GradFormat == null ? "" : $" grad_format {OptionsJson.Write(o.GradFormat, indented: false)}");

    /// <summary>Rounds of <paramref name="steps"/> steps, exact then with methods, alternating; per-round ms/step of each.</summary>
    static void Compare(TrainOptions o, int steps, int rounds)
    {
        var runs = new[] { ("exact", new Stepper(o, attachMethods: false)), ("methods", new Stepper(o)) };
        WarmUp(runs[0].Item2, runs[1].Item2);
        foreach (var line in runs[1].Item2.AutoKeepReport()) Console.WriteLine(line);
        var ms = new List<double>[] { [], [] };
        for (int r = 0; r < rounds; r++)
            for (int j = 0; j < 2; j++)
            {
                double t = 0;
                for (int s = 0; s < steps; s++) { var (f, b, u) = runs[j].Item2.Step(); t += f + b + u; }
                ms[j].Add(t / steps);
            }
        Console.WriteLine($"{o.Model}, batch {o.BatchSize}: {rounds} alternating rounds of {steps} steps; ms/step per round");
        Console.WriteLine($"  exact  : {string.Join(" ", ms[0].Select(v => v.ToString("F1")))}   median {Median(ms[0]):F1}");
        Console.WriteLine($"  {Describe(o).Trim()}");
        Console.WriteLine($"  methods: {string.Join(" ", ms[1].Select(v => v.ToString("F1")))}   median {Median(ms[1]):F1}");
        var ratios = ms[0].Zip(ms[1], (e, a) => e / a).ToList();
        Console.WriteLine($"  speed-up per round: {string.Join(" ", ratios.Select(v => v.ToString("F2")))}   median {Median(ratios):F2}x");
    }

    /// <summary>Steps every stepper until the runtime stops compiling (<see cref="JitWarmUp"/>): at least
    /// <see cref="MinWarmUpSteps"/> steps, since code called once a step is promoted to optimised code after 30.</summary>
    static void WarmUp(params Stepper[] steppers)
    {
        var w = JitWarmUp.Run(() => { foreach (var s in steppers) s.Step(); }, MinWarmUpSteps, QuietSteps, MaxWarmUpSteps);
        Console.WriteLine(w.Settled
            ? $"warm-up: {w.Rounds} steps per model, the last {w.QuietRounds} without a method compiled"
            : $"warm-up: {w.Rounds} steps per model, the runtime still compiling (timings may include unoptimised code)");
    }

    const int MinWarmUpSteps = 35, QuietSteps = 8, MaxWarmUpSteps = 150;

    static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
