using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.Zap;

/// <summary>
/// Inference of a flat <see cref="Sequential"/> CNN with ZAP's real savings (../shared/METHODS.md §6): each
/// conv → BN → ReLU (or conv → ReLU) block whose ReLU has a ZAP with a threshold runs as <see cref="ZapSparseConv"/>,
/// everything else as usual. Same outputs as the masked model (<see cref="ZapMode.Mask"/>), with the predicted zeros
/// never computed.
/// </summary>
public static class ZapSparseInference
{
    /// <summary>The model's output for x, eval mode, and the outputs the sparse blocks skipped.</summary>
    public static (Tensor Output, long Skipped) Forward(ZapNetwork zap, Tensor x)
    {
        if (zap.Model is not Sequential seq)
            throw new NotSupportedException("zap sparse inference: runs flat Sequential models (the zoo's cnn); this model is not one");
        var byRelu = zap.Layers.Where(l => l.Threshold != null).ToDictionary(l => l.Name);
        using var _ = GradMode.NoGrad();
        zap.Model.Eval();
        zap.SetMode(ZapMode.Off);
        long skipped = 0;
        var layers = seq.Layers;
        for (int i = 0; i < layers.Count; i++)
        {
            if (layers[i] is Conv2d conv && Block(layers, i) is { } relu && byRelu.TryGetValue(relu.ToString(CultureInvariant), out var zl))
            {
                var bn = layers[i + 1] as BatchNorm2d;
                var (y, s) = ZapSparseConv.Forward(x, conv, bn, zl.Predictor, zl.Threshold!.Value);
                x = y;
                skipped += s;
                i = relu;
                continue;
            }
            x = layers[i].Call(x);
        }
        return (x, skipped);
    }

    static readonly IFormatProvider CultureInvariant = System.Globalization.CultureInfo.InvariantCulture;

    /// <summary>The index of the ReLU that ends a conv → BN → ReLU or conv → ReLU block starting at i, if any.</summary>
    static int? Block(IReadOnlyList<Module> layers, int i)
    {
        if (i + 1 < layers.Count && layers[i + 1] is ReLU) return i + 1;
        if (i + 2 < layers.Count && layers[i + 1] is BatchNorm2d && layers[i + 2] is ReLU) return i + 2;
        return null;
    }
}
