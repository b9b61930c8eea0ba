using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// A drop-in replacement of <see cref="Conv2d"/> (groups = 1) that samples while training and is exact in evaluation
/// (Adelman et al., NeurIPS 2021, arXiv 1805.08079; METHODS.md §2, Conv2d). Forward mode samples input channels by
/// ‖I[:,c]‖_F·‖K[:,c]‖_F (or ‖K[:,c]‖_F alone, <see cref="ApproxSettings.Score"/>) and convolves I[:,S] with
/// K[:,S]·diag(s), so its backward shrinks too: in place where the backend has direct kernels
/// (<see cref="SampledInputsConv2dFn"/>), else by gathering both into an ordinary convolution with C_in = k. Backward
/// mode samples output channels for dX and images for dW. It registers the exact layer's own weight and bias tensors:
/// state-dict keys and optimizer parameters do not change.
/// </summary>
public sealed class ApproxConv2d : Module
{
    public int InChannels { get; }
    public int OutChannels { get; }
    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public (int H, int W) Padding { get; }
    public (int H, int W) Dilation { get; }
    public Tensor Weight { get; private set; }
    public Tensor? Bias { get; private set; }
    public ApproxSettings Settings { get; set; }
    public ApproxLayerStats Stats { get; } = new();
    /// <summary>Set: the next training forward keeps a copy of its input in <see cref="CapturedInput"/> (what
    /// <see cref="CrsApproximation"/> measures the keeps of layers = auto on).</summary>
    internal bool CaptureInput { get; set; }
    internal (Tensor Input, bool NeedsGrad)? CapturedInput { get; set; }
    readonly Generator? _generator;

    /// <param name="exact">The layer replaced; its weight and bias tensors are shared.</param>
    /// <param name="settings">Sampler, keep ratio, minimal k and mode.</param>
    /// <param name="generator">Source of the sampling randomness; null = <see cref="Generator.Default"/> at each call.</param>
    public ApproxConv2d(Conv2d exact, ApproxSettings settings, Generator? generator = null)
    {
        if (exact.Groups != 1)
            throw new ArgumentException($"ApproxConv2d: {exact} has groups={exact.Groups}; channel sampling needs groups=1 (leave grouped convolutions exact)");
        InChannels = exact.InChannels; OutChannels = exact.OutChannels; KernelSize = exact.KernelSize;
        Stride = exact.Stride; Padding = exact.Padding; Dilation = exact.Dilation;
        Weight = Parameter("weight", exact.Weight);
        if (exact.Bias != null) Bias = Parameter("bias", exact.Bias);
        Settings = settings;
        _generator = generator;
    }

    protected override Tensor Forward(Tensor x)
    {
        if (!Training) return x.Conv2d(Weight, Bias, Stride, Padding, 1, Dilation);
        if (CaptureInput) { CapturedInput = (TermSampling.Snapshot(x), x.RequiresGrad); CaptureInput = false; }
        var win = Conv.Geometry(x, Weight, Bias, Stride, Padding, 1, Dilation);
        var s = Settings;
        var rng = _generator ?? Generator.Default;
        double perChannel = (double)x.Shape[0] * win.OutH * win.OutW * OutChannels * win.Taps;
        double full = perChannel * InChannels;
        Tensor xs = x, ws = Weight;
        int kept = InChannels;
        if (s.Mode != ApproxMode.Backward)
        {
            var sample = TermSampling.SampleInputs(s, x, Weight, rng, Stats.Forward);
            if (!sample.IsExact)
            {
                kept = sample.Count;
                // Forward mode on a backend with a direct kernel: the kernel reads the kept channels in place.
                var y = s.Mode == ApproxMode.Forward
                    ? SampledInputsConv2dFn.TryForward(x, Weight, Bias, win, new ChannelSubset(sample.Indices, sample.Scales))
                    : null;
                if (y != null) { CountForwardMode(x, full, perChannel * kept); return y; }
                // The scale goes on the small gathered kernel [Cout, k, kh, kw], not on the activations.
                xs = TermSampling.Gather(x, 1, sample, scaled: false);
                ws = TermSampling.Gather(Weight, 1, sample, scaled: true);
            }
        }
        double executed = perChannel * kept;
        bool grads = GradMode.IsEnabled && (x.RequiresGrad || Weight.RequiresGrad || (Bias?.RequiresGrad ?? false));
        if (s.Mode == ApproxMode.Forward || !grads)
        {
            CountForwardMode(x, full, executed);
            return xs.Conv2d(ws, Bias, Stride, Padding, 1, Dilation);
        }
        Stats.AddMacs(full, executed);
        return new SampledBackwardConv2dFn(s, rng, Stats, full).Forward(xs, ws, Bias, Stride, Padding, Dilation);
    }

    /// <summary>Multiply-adds of a forward-sampled step: the forward, and dX and dW at the same k when they are wanted.</summary>
    void CountForwardMode(Tensor x, double full, double executed)
    {
        bool grads = GradMode.IsEnabled && (x.RequiresGrad || Weight.RequiresGrad || (Bias?.RequiresGrad ?? false));
        int passes = 1 + (grads && Weight.RequiresGrad ? 1 : 0) + (grads && x.RequiresGrad ? 1 : 0);
        Stats.AddMacs(passes * full, passes * executed);
    }

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "weight") Weight = moved; else Bias = moved;
    }

    public override string ToString() =>
        $"ApproxConv2d({InChannels}, {OutChannels}, kernel_size={KernelSize}, {Settings.Sampler.Name}, keep={Settings.Keep}, {Settings.Mode})";
}
