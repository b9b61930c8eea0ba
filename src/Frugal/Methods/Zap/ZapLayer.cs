using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Zap;

/// <summary>What a ZAP does to its ReLU's output on a forward.</summary>
public enum ZapMode
{
    /// <summary>Nothing: the backbone runs dense.</summary>
    Off,
    /// <summary>Keeps the activation (for predictor training and threshold curves); the output is unchanged.</summary>
    Capture,
    /// <summary>Applies the mask: output x ⊙ m with m = 1[u + 10⁵·P &gt; t], and counts what it dropped.</summary>
    Mask,
}

/// <summary>
/// One ZAP attached after a ReLU (../shared/METHODS.md §6): its predictor, the convolution whose outputs it lets skip,
/// the sizes that price them, and the counts of the masked forwards since <see cref="ResetCounts"/>.
/// </summary>
public sealed class ZapLayer
{
    public string Name { get; }
    public string ConvName { get; }
    public Conv2d Conv { get; }
    public ZapPredictor Predictor { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public ZapMode Mode { get; set; }
    /// <summary>t of the mask; null switches this layer's ZAP off (no predictor run, nothing saved or paid).</summary>
    public double? Threshold { get; set; }
    /// <summary>The activation of the last Capture forward (no graph).</summary>
    public Tensor? Captured { get; private set; }

    /// <summary>Counts of the Mask forwards: images, predicted-zero outputs, Σ(x·m) and Σx.</summary>
    public long Images { get; private set; }
    public long PredictedZeros { get; private set; }
    public double KeptSum { get; private set; }
    public double TotalSum { get; private set; }

    internal ZapLayer(string name, string convName, Conv2d conv, ZapPredictor predictor, int height, int width)
    {
        Name = name; ConvName = convName; Conv = conv; Predictor = predictor;
        Channels = predictor.Channels; Height = height; Width = width;
    }

    /// <summary>Producing convolution's MACs per output element.</summary>
    public long MacsPerOutput => ZapMath.MacsPerOutput(Conv.InChannels, Conv.Groups, Conv.KernelSize.H, Conv.KernelSize.W);
    /// <summary>Producing convolution's MACs per image.</summary>
    public long ConvMacsPerImage => MacsPerOutput * Channels * Height * Width;
    public long PredictorMacsPerImage => ZapPredictor.MacsPerImage(Channels, Height, Width);

    public void ResetCounts() { Images = 0; PredictedZeros = 0; KeptSum = 0; TotalSum = 0; }

    /// <summary>The hook on the ReLU: what <see cref="Mode"/> says.</summary>
    internal Tensor OnOutput(Tensor y)
    {
        if (Mode == ZapMode.Capture) { Captured = y.Detach(); return y; }
        if (Mode == ZapMode.Off || Threshold is not { } t) return y;
        var m = MaskOf(y, t);
        var kept = y.Mul(m);
        using (GradMode.NoGrad())
        {
            Images += y.Shape[0];
            PredictedZeros += y.Numel - (long)Math.Round(m.Sum().Item());
            KeptSum += kept.Detach().Sum().Item();
            TotalSum += y.Detach().Sum().Item();
        }
        return kept;
    }

    /// <summary>m = 1[u + 10⁵·P &gt; t] for the activation y, as a constant tensor (no gradient flows into the predictor).</summary>
    public Tensor MaskOf(Tensor y, double t)
    {
        using var _ = GradMode.NoGrad();
        bool was = Predictor.Training;
        Predictor.Eval();
        var u = Predictor.Call(y.Detach());
        Predictor.Train(was);
        var (p, _) = Predictor.Masks(y);
        // Sign(z − t) ∈ {−1, 0, 1}, clamped to {0, 1}: 1 exactly where z > t.
        return u.Add(p.Mul(ZapMath.ComputedOffset)).Add((float)-t).Sign().Clamp(0, 1);
    }

    public override string ToString() => $"{Name} (after {ConvName}: {Channels}×{Height}×{Width})";
}
