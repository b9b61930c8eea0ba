using System.Diagnostics;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.ClosedForm;

/// <summary>One fit of the output layer: after the random initialisation (round 0) or after a hidden refit.</summary>
/// <param name="Round">0 for the random hidden layer, r for the r-th hidden refit.</param>
/// <param name="TrainMse">‖H̃·W₂ − T‖² / (n·c) on the training data.</param>
/// <param name="TrainAccuracy">Share of argmax(H̃·W₂) equal to the label (null for regression targets).</param>
/// <param name="Lambda">The largest λ the round's solves used (λ itself unless float32 rounding needed more).</param>
/// <param name="Seconds">Wall-clock of the round.</param>
public sealed record ClosedFormRound(int Round, double TrainMse, double? TrainAccuracy, double Lambda, double Seconds);

/// <summary>A fitted model (Flatten, Linear, f, Linear: the zoo's one-hidden-layer mlp) and how the rounds went.</summary>
public sealed record ClosedFormFit(Sequential Model, IReadOnlyList<ClosedFormRound> Rounds, double Seconds);

/// <summary>
/// Fits a one-hidden-layer MLP y = f(x·W₁)·W₂ without gradient descent (Øland, ../shared/METHODS.md §4.5, PROPOSAL):
/// W₁ starts random; the output layer is the ridge solution W₂ = (H̃ᵀH̃ + λI)⁻¹H̃ᵀT for H = f(X̃·W₁); then, per
/// round, the hidden targets H* = (T − b₂)·W₂⁺ (the ridge pseudo-inverse of W₂'s weight rows, clipped to f's range)
/// give W₁ as the ridge solution of X̃·W₁ = f⁻¹(H*), and W₂ is refitted. X̃ and H̃ carry a ones column when biases
/// are fitted. Every product runs on the inputs' device (<see cref="RidgeRegression"/>). The result is an ordinary
/// <see cref="Sequential"/>: evaluate it, save it, or fine-tune it with the Trainer.
/// </summary>
public static class ClosedFormMlp
{
    /// <summary>Classification: <paramref name="labels"/> in 0..classes−1 become one-hot targets {0, 1}.</summary>
    /// <param name="inputs">[N, ...]; each example is flattened.</param>
    /// <param name="labels">One class per example.</param>
    /// <param name="options">Validated here.</param>
    /// <param name="classes">Output units (0: one more than the largest label).</param>
    public static ClosedFormFit Fit(Tensor inputs, int[] labels, ClosedFormOptions options, int classes = 0)
    {
        if (labels.Length != inputs.Shape[0]) throw new ArgumentException($"closed-form fit: {labels.Length} labels for {inputs.Shape[0]} examples");
        if (labels.Length == 0) throw new ArgumentException("closed-form fit: no examples");
        int c = classes > 0 ? classes : labels.Max() + 1;
        var oneHot = new float[labels.Length * c];
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= c) throw new ArgumentException($"closed-form fit: label {labels[i]} at index {i} is outside 0..{c - 1}");
            oneHot[i * c + labels[i]] = 1;
        }
        return Fit(inputs, Tensor.FromArray(oneHot, new Shape(labels.Length, c), inputs.Device), options, labels);
    }

    /// <summary>Regression: <paramref name="targets"/> [N, c] are fitted by least squares.</summary>
    public static ClosedFormFit Fit(Tensor inputs, Tensor targets, ClosedFormOptions options) => Fit(inputs, targets, options, null);

    static ClosedFormFit Fit(Tensor inputs, Tensor targets, ClosedFormOptions options, int[]? labels)
    {
        options.Validate();
        if (inputs.Rank < 2 || targets.Rank != 2 || targets.Shape[0] != inputs.Shape[0])
            throw new ArgumentException($"closed-form fit: inputs {inputs.Shape} and targets {targets.Shape} must be [N, ...] and [N, c]");
        var device = inputs.Device;
        int n = inputs.Shape[0], d = inputs.Numel / Math.Max(n, 1), p = options.HiddenWidth, c = targets.Shape[1];
        double lambda = options.Lambda;
        var total = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();
        var f = options.Activation.Create();
        var x = WithOnes(inputs.ToArray(), n, d, options.Bias, device);
        var w1 = Init(d, p, options);
        var t = targets.ToArray();
        var rounds = new List<ClosedFormRound>();

        Tensor hidden = Hidden(x, Tensor.FromArray(w1, new Shape(w1.Length / p, p), device), f, options.Bias);
        var fit = RidgeRegression.Solve(hidden, targets, lambda);
        rounds.Add(Round(0, hidden, fit, t, labels, fit.Lambda, clock));
        for (int r = 1; r <= options.Rounds; r++)
        {
            clock.Restart();
            var hiddenTargets = HiddenTargets(hidden, fit.Weights, t, p, c, options, lambda, out double pinvLambda);
            InverseActivation.Apply(options.Activation, hiddenTargets, options.ClipMargin);
            var refit = RidgeRegression.Solve(x, Tensor.FromArray(hiddenTargets, new Shape(n, p), device), lambda);
            hidden = Hidden(x, refit.Weights, f, options.Bias);
            fit = RidgeRegression.Solve(hidden, targets, lambda);
            w1 = refit.Weights.ToArray();
            rounds.Add(Round(r, hidden, fit, t, labels, Math.Max(Math.Max(pinvLambda, refit.Lambda), fit.Lambda), clock));
        }
        var model = Model(w1, fit.Weights.ToArray(), d, p, c, options);
        if (device != Device.Cpu) model.To(device);
        return new ClosedFormFit(model, rounds, total.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The hidden layer's targets H*, before clipping and f⁻¹. Minimum norm (the PROPOSAL's): H* = (T − b₂)·W₂⁺, the
    /// smallest H with H·W₂ + b₂ ≈ T. Minimal change: H* = H + (T − H̃·W₂)·W₂⁺, the H closest to the current one
    /// with that property, which keeps what H carries outside W₂'s c-dimensional row space.
    /// </summary>
    static float[] HiddenTargets(Tensor hidden, Tensor w2, float[] t, int p, int c, ClosedFormOptions o, double lambda, out double pinvLambda)
    {
        var device = hidden.Device;
        int n = t.Length / c;
        var pinv = RidgeRegression.PseudoInverse(Tensor.FromArray(w2.ToArray().AsSpan(0, p * c), new Shape(p, c), device), lambda);
        pinvLambda = pinv.Lambda;
        var error = (float[])t.Clone();
        if (o.HiddenTargets == HiddenTargetRule.MinimalChange)
        {
            var y = hidden.Matmul(w2).ToArray();
            for (int i = 0; i < error.Length; i++) error[i] -= y[i];
        }
        else if (o.Bias)
        {
            var b2 = w2.ToArray().AsSpan(p * c, c);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < c; j++) error[i * c + j] -= b2[j];
        }
        var targets = Tensor.FromArray(error, new Shape(n, c), device).Matmul(pinv.Weights).ToArray();
        if (o.HiddenTargets == HiddenTargetRule.MinimalChange)
        {
            var h = hidden.ToArray();
            int stride = p + (o.Bias ? 1 : 0);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < p; j++) targets[i * p + j] += h[i * stride + j];
        }
        return targets;
    }

    /// <summary>W₁ ~ N(0, s²/d) and b₁ ~ N(0, s²), as [d(+1), p].</summary>
    static float[] Init(int d, int p, ClosedFormOptions o)
    {
        var w = new float[(d + (o.Bias ? 1 : 0)) * p];
        var g = new Generator(o.Seed);
        g.FillNormal(w.AsSpan(0, d * p), 0, (float)(o.InitScale / Math.Sqrt(d)));
        if (o.Bias) g.FillNormal(w.AsSpan(d * p), 0, (float)o.InitScale);
        return w;
    }

    /// <summary>H̃ = [f(X̃·W₁), 1].</summary>
    static Tensor Hidden(Tensor x, Tensor w1, Module f, bool bias)
    {
        var h = f.Call(x.Matmul(w1));
        return bias ? WithOnes(h.ToArray(), h.Shape[0], h.Shape[1], true, h.Device) : h;
    }

    /// <summary>[A, 1]: the n×d values with a ones column appended (unchanged without a bias).</summary>
    static Tensor WithOnes(float[] a, int n, int d, bool bias, Device device)
    {
        if (!bias) return Tensor.FromArray(a, new Shape(n, d), device);
        var o = new float[n * (d + 1)];
        for (int i = 0; i < n; i++)
        {
            a.AsSpan(i * d, d).CopyTo(o.AsSpan(i * (d + 1)));
            o[i * (d + 1) + d] = 1;
        }
        return Tensor.FromArray(o, new Shape(n, d + 1), device);
    }

    static ClosedFormRound Round(int r, Tensor hidden, RidgeSolution fit, float[] t, int[]? labels, double lambda, Stopwatch clock)
    {
        var y = hidden.Matmul(fit.Weights).ToArray();
        int c = fit.Weights.Shape[1], n = y.Length / c;
        double sse = 0;
        for (int i = 0; i < y.Length; i++) sse += (double)(y[i] - t[i]) * (y[i] - t[i]);
        double? accuracy = null;
        if (labels != null)
        {
            int correct = 0;
            for (int i = 0; i < n; i++)
            {
                int best = 0;
                for (int j = 1; j < c; j++) if (y[i * c + j] > y[i * c + best]) best = j;
                if (best == labels[i]) correct++;
            }
            accuracy = (double)correct / n;
        }
        return new ClosedFormRound(r, sse / y.Length, accuracy, lambda, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// The architecture a fit fills in, freshly initialised as any Linear is: Flatten, Linear(d, p), f, Linear(p, c)
    /// (state-dict keys 1.* and 3.*, the zoo's mlp with hidden [p] and this activation). Train it with SGD to compare.
    /// </summary>
    public static Sequential NewModel(int inputs, int outputs, ClosedFormOptions options, Generator? generator = null) =>
        new(new Flatten(), new Linear(inputs, options.HiddenWidth, options.Bias, generator), options.Activation.Create(),
            new Linear(options.HiddenWidth, outputs, options.Bias, generator));

    static Sequential Model(float[] w1, float[] w2, int d, int p, int c, ClosedFormOptions o)
    {
        var model = NewModel(d, c, o);
        Load((Linear)model[1], w1, d, p, o.Bias);
        Load((Linear)model[3], w2, p, c, o.Bias);
        return model;
    }

    /// <summary>A [in(+1), out] solution into a Linear's weight [out, in] (transposed) and bias.</summary>
    static void Load(Linear layer, float[] w, int inputs, int outputs, bool bias)
    {
        var weight = layer.Weight.Span;
        for (int i = 0; i < inputs; i++)
            for (int j = 0; j < outputs; j++) weight[j * inputs + i] = w[i * outputs + j];
        if (bias) w.AsSpan(inputs * outputs, outputs).CopyTo(layer.Bias!.Span);
    }
}
