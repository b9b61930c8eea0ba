using System.Diagnostics;
using Frugal.Autograd;
using Frugal.Diagnostics;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// Measures what <see cref="AutoKeep"/> chooses from (METHODS.md §2): a Linear/Conv2d layer's exact forward + backward
/// milliseconds on a real input, the same for the forward-sampled layer at each candidate keep (norms, draw, gathers
/// and the gradient scatter included, so the method's own cost counts), and each keep's relative output error
/// ‖Ŷ − Y‖_F/‖Y‖_F on that input (RMS over draws for the random samplers; Top-k draws once). Exact and sampled passes
/// alternate in rounds; the exact time is the fastest round's, a keep's time that times the median of its per-round
/// ratios to exact, so a load burst on a shared machine, which slows a whole round, does not decide the choice.
/// Timing starts once the runtime has stopped compiling the passes (<see cref="JitWarmUp"/>): measured at a run's
/// second step, the sampled passes had never run, and their unoptimised first calls made the costs non-monotone in keep
/// (conv 3 of the cnn: keep 0.5 21.2 ms, keep 0.9 18.7 ms), so the choice changed from run to run.
/// The layer's gradients are restored afterwards: measuring leaves training untouched.
/// </summary>
public static class LayerCostMeter
{
    // Each round calls every pass once; 10 rounds of 1 + keeps.Count passes call the shared code ≥ 30 times.
    const int MinWarmUpRounds = 10, QuietRounds = 3, MaxWarmUpRounds = 60;

    /// <param name="name">The layer's state-dict name, carried into the result.</param>
    /// <param name="layer">The exact Linear or Conv2d (its parameters are the ones trained).</param>
    /// <param name="input">What the layer sees in training.</param>
    /// <param name="inputNeedsGrad">Whether training computes dX (false for the first layer).</param>
    /// <param name="settings">Sampler, minimal k and score; the keep is replaced by each of <paramref name="keeps"/>.</param>
    /// <param name="keeps">The candidate keep ratios.</param>
    /// <param name="rng">Randomness of the random samplers' draws.</param>
    /// <param name="reps">Timed rounds (after the untimed warm-up).</param>
    public static LayerCost Measure(string name, Module layer, Tensor input, bool inputNeedsGrad, ApproxSettings settings,
        IReadOnlyList<double> keeps, Generator rng, int reps = 7)
    {
        if (layer is not (Linear or Conv2d)) throw new ArgumentException($"layer_cost: {layer} is neither Linear nor Conv2d");
        if (reps < 1) throw new ArgumentException($"layer_cost: reps must be at least 1, got {reps}");
        var forward = settings with { Mode = ApproxMode.Forward };
        var sampled = keeps.Select(k => layer is Linear l
            ? (Module)new ApproxLinear(l, forward with { Keep = k }, rng)
            : new ApproxConv2d((Conv2d)layer, forward with { Keep = k }, rng)).ToList();
        bool wasTraining = layer.Training;
        layer.Train();
        var parameters = layer.Parameters().ToList();
        var grads = parameters.Select(p => p.Grad).ToList();
        try
        {
            var x = input.Detach();
            x.RequiresGrad = inputNeedsGrad;
            Tensor y;
            using (GradMode.NoGrad()) y = layer.Call(x);
            var dy = Tensor.Full(y.Shape, 1f, y.Device);
            JitWarmUp.Run(() => { Time(layer, x, dy); foreach (var s in sampled) Time(s, x, dy); }, MinWarmUpRounds, QuietRounds, MaxWarmUpRounds);
            double exactMs = double.PositiveInfinity;
            var ratios = sampled.Select(_ => new List<double>()).ToList();
            for (int r = 0; r < reps; r++)
            {
                double exact = Time(layer, x, dy);
                exactMs = Math.Min(exactMs, exact);
                for (int j = 0; j < sampled.Count; j++) ratios[j].Add(Time(sampled[j], x, dy) / exact);
            }
            // Sampled time = the fastest exact time × the median of the per-round ratios: a load burst slows both
            // passes of a round alike, so the ratio survives it where the times themselves do not.
            var ms = ratios.Select(q => exactMs * Median(q)).ToArray();
            var options = new List<KeepCost>();
            for (int j = 0; j < sampled.Count; j++)
                options.Add(new KeepCost(keeps[j], ms[j], RelativeError(sampled[j], x, y, settings.Sampler.Unbiased ? 4 : 1)));
            return new LayerCost(name, exactMs, options);
        }
        finally
        {
            for (int i = 0; i < parameters.Count; i++) parameters[i].Grad = grads[i];
            layer.Train(wasTraining);
        }
    }

    static double Median(List<double> v)
    {
        var s = v.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>Milliseconds of one forward and backward of <paramref name="m"/> on x with upstream gradient dy.</summary>
    static double Time(Module m, Tensor x, Tensor dy)
    {
        foreach (var p in m.Parameters()) p.Grad = null;
        x.Grad = null;
        dy.Device.Synchronize();
        long t0 = Stopwatch.GetTimestamp();
        m.Call(x).Backward(dy);
        dy.Device.Synchronize();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    /// <summary>RMS over <paramref name="draws"/> of ‖Ŷ − Y‖_F/‖Y‖_F (0 when Y = 0).</summary>
    static double RelativeError(Module sampled, Tensor x, Tensor exact, int draws)
    {
        using var _ = GradMode.NoGrad();
        var y = exact.ToArray();
        double yy = 0;
        foreach (var v in y) yy += (double)v * v;
        if (yy == 0) return 0;
        double total = 0;
        for (int t = 0; t < draws; t++)
        {
            var e = sampled.Call(x).ToArray();
            double d = 0;
            for (int i = 0; i < e.Length; i++) d += ((double)e[i] - y[i]) * ((double)e[i] - y[i]);
            total += d / yy;
        }
        return Math.Sqrt(total / draws);
    }
}
