using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.Zap;

/// <summary>
/// The zero-activation predictor of ZAP (Shomron et al., ECCV 2020, Fig. 2; ../shared/METHODS.md §6):
/// u = BN₂(DW3×3₂(ReLU(BN₁(DW3×3₁(x ⊙ P))))) ⊙ (1 − P), both convolutions depthwise (groups = C), 3×3, padding 1.
/// It sees only the computed positions of x and answers, on the others, a score that training pulls towards 1[x &gt; 0].
/// Children "0"–"3" (conv, BN, conv, BN) as a PyTorch Sequential would name them.
/// </summary>
public sealed class ZapPredictor : Module
{
    public SpatialPattern Pattern { get; }
    public int Channels { get; }
    readonly Conv2d _conv1, _conv2;
    readonly BatchNorm2d _bn1, _bn2;
    (int H, int W, Device Device, Tensor P, Tensor NotP)? _masks;

    public ZapPredictor(int channels, SpatialPattern pattern, bool bias = false, Generator? generator = null)
    {
        Channels = channels; Pattern = pattern;
        _conv1 = Child("0", new Conv2d(channels, channels, 3, padding: 1, groups: channels, bias: bias, generator: generator));
        _bn1 = Child("1", new BatchNorm2d(channels));
        _conv2 = Child("2", new Conv2d(channels, channels, 3, padding: 1, groups: channels, bias: bias, generator: generator));
        _bn2 = Child("3", new BatchNorm2d(channels));
    }

    /// <summary>P and 1 − P as [1, 1, H, W] tensors for maps of <paramref name="x"/>'s size (cached).</summary>
    public (Tensor P, Tensor NotP) Masks(Tensor x)
    {
        int h = x.Shape[2], w = x.Shape[3];
        if (_masks is not { } m || m.H != h || m.W != w || m.Device != x.Device)
        {
            var p = Pattern.MaskTensor(h, w, x.Device);
            var notP = Tensor.FromArray(Pattern.Mask(h, w).Select(v => 1 - v).ToArray(), new Shape(1, 1, h, w), x.Device);
            _masks = m = (h, w, x.Device, p, notP);
        }
        return (m.P, m.NotP);
    }

    /// <summary>u for the activation x [N, C, H, W]; 0 on the computed positions.</summary>
    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank != 4 || x.Shape[1] != Channels)
            throw new ArgumentException($"zap predictor({Channels}): expected an activation [N, {Channels}, H, W], got {x.Shape}");
        var (p, notP) = Masks(x);
        var h = _bn1.Call(_conv1.Call(x.Mul(p))).Relu();
        return _bn2.Call(_conv2.Call(h)).Mul(notP);
    }

    /// <summary>The eval-mode predictor as depthwise kernels [C·9] with each conv bias and BN folded into a per-channel
    /// scale and shift (BN(conv(x) + b) = scale·conv(x) + shift), for <see cref="ZapSparseConv"/>'s direct loops.</summary>
    internal (float[] W1, float[] Scale1, float[] Shift1, float[] W2, float[] Scale2, float[] Shift2) Folded()
    {
        (float[], float[]) Fold(Conv2d conv, BatchNorm2d bn)
        {
            var scale = new float[Channels];
            var shift = new float[Channels];
            var bias = conv.Bias?.ToArray();
            var mean = bn.RunningMean!.ToArray();
            var var = bn.RunningVar!.ToArray();
            var gamma = bn.Weight!.ToArray();
            var beta = bn.Bias!.ToArray();
            for (int c = 0; c < Channels; c++)
            {
                scale[c] = gamma[c] / MathF.Sqrt(var[c] + bn.Eps);
                shift[c] = scale[c] * ((bias?[c] ?? 0) - mean[c]) + beta[c];
            }
            return (scale, shift);
        }
        var (s1, b1) = Fold(_conv1, _bn1);
        var (s2, b2) = Fold(_conv2, _bn2);
        return (_conv1.Weight.ToArray(), s1, b1, _conv2.Weight.ToArray(), s2, b2);
    }

    /// <summary>MACs of one predictor call per image: two depthwise 3×3 convolutions over the whole C×H×W map
    /// (2·9 per element; BN and ReLU are element-wise and not counted, as for the backbone).</summary>
    public static long MacsPerImage(int channels, int height, int width) => 2L * 9 * channels * height * width;
}
