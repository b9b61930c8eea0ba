using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.Approximate;

/// <summary>
/// How far a forward-sampled layer's output is from the exact one, for the sampler-error-vs-keep experiment
/// (arXiv 1805.08079 §5 compares samplers this way; METHODS.md §2): the root-mean-square over draws of
/// ‖Ŷ − Y‖_F / ‖Y‖_F, with Y = the exact layer's output on a fixed input.
/// </summary>
public static class SamplerError
{
    /// <summary>RMS relative error of <paramref name="layer"/> (a Linear or Conv2d) sampled in forward mode.</summary>
    public static double RelativeError(Module layer, Tensor input, IColumnSampler sampler, double keep, int minimalK, int draws, Generator rng)
    {
        var settings = new ApproxSettings(sampler, keep, minimalK, ApproxMode.Forward);
        Module approx = layer switch
        {
            Linear l => new ApproxLinear(l, settings, rng),
            Conv2d c => new ApproxConv2d(c, settings, rng),
            _ => throw new ArgumentException($"sampler_error: {layer} is neither Linear nor Conv2d"),
        };
        using var _ = GradMode.NoGrad();
        var y = layer.Call(input).ToArray();
        double yy = y.Sum(v => (double)v * v), total = 0;
        for (int t = 0; t < draws; t++)
        {
            var e = approx.Call(input).ToArray();
            double d = 0;
            for (int i = 0; i < e.Length; i++) d += ((double)e[i] - y[i]) * ((double)e[i] - y[i]);
            total += d / yy;
        }
        return Math.Sqrt(total / draws);
    }

    /// <summary>The input every Linear/Conv2d child of a Sequential model sees on <paramref name="batch"/> (eval mode,
    /// no gradients), by state-dict name.</summary>
    public static IReadOnlyList<(string Name, Module Layer, Tensor Input)> LayerInputs(Sequential model, Tensor batch)
    {
        var res = new List<(string, Module, Tensor)>();
        bool was = model.Training;
        model.Eval();
        using (GradMode.NoGrad())
        {
            var x = batch;
            for (int i = 0; i < model.Layers.Count; i++)
            {
                var l = model.Layers[i];
                if (l is Linear or Conv2d { Groups: 1 }) res.Add((i.ToString(), l, x));
                x = l.Call(x);
            }
        }
        model.Train(was);
        return res;
    }
}
