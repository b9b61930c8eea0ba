using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.Robustness;

/// <summary>
/// Post-training quantisation of a trained model (../shared/METHODS.md §5): every conv/linear weight per tensor,
/// symmetric, step by MSE search (<see cref="UniformQuantizer.MseOptimalStep"/>) then scaled by r and optionally
/// rounded to a power of two; every conv/linear input per tensor, unsigned where the calibration batches never go
/// below zero (after a ReLU), step by MSE search on values seen in those batches (with the weights already
/// quantised). The first and last layer keep <see cref="PtqSettings.EdgeBits"/>. BatchNorm stays in float and unfolded
/// (the per-tensor weight distribution is the trained one, the one KURE shapes).
/// </summary>
public static class PostTrainingQuantization
{
    /// <summary>What one layer got.</summary>
    public sealed record LayerSteps(string Name, int? WeightBits, float? WeightStep, int? InputBits, float? InputStep, bool InputSigned);

    /// <summary>Quantises <paramref name="model"/> in place (its conv/linear layers become <see cref="QuantizedLayer"/>s)
    /// and puts it in evaluation mode. <paramref name="calibration"/> (input batches) is needed for activations.</summary>
    public static IReadOnlyList<LayerSteps> Apply(Module model, PtqSettings settings, IEnumerable<Tensor>? calibration = null)
    {
        settings.Validate();
        model.Eval();
        var names = ComputeLayers.All(model).Select(l => l.Name).ToList();
        if (names.Count == 0) throw new ArgumentException("ptq: the model has no conv/linear layer");
        var layers = QuantizedLayer.Wrap(model, names);
        int Bits(int bits, int i) => i == 0 || i == layers.Count - 1 ? Math.Max(bits, settings.EdgeBits) : bits;
        var weightBits = new int?[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            if (settings.WeightBits is not { } wb) continue;
            var q = layers[i].Layer;
            var grid = UniformQuantizer.Create(Bits(wb, i), signed: true);
            var w = q.Weight.ToArray();
            float step = (float)(grid.MseOptimalStep(w) * settings.StepScale);
            if (settings.PowerOfTwo) step = grid.PowerOfTwoStep(w, step);
            q.WeightQuantizer = new TensorQuantizer(grid, Tensor.Scalar(step, q.Weight.Device));
            weightBits[i] = grid.Bits;
        }
        if (settings.ActivationBits is { } ab)
        {
            if (calibration == null) throw new ArgumentException("ptq: quantising activations needs calibration batches");
            var samples = Calibrate(model, layers, calibration, settings.ActivationSamples);
            for (int i = 0; i < layers.Count; i++)
            {
                var (values, min) = samples[i];
                var grid = UniformQuantizer.Create(Bits(ab, i), signed: min < 0);
                float step = grid.MseOptimalStep(values);
                if (settings.PowerOfTwo) step = grid.PowerOfTwoStep(values, step);
                layers[i].Layer.InputQuantizer = new TensorQuantizer(grid, Tensor.Scalar(step, layers[i].Layer.Weight.Device));
            }
        }
        return layers.Select((l, i) => new LayerSteps(l.Name, weightBits[i], l.Layer.WeightQuantizer?.Step.Item(),
            l.Layer.InputQuantizer?.Grid.Bits, l.Layer.InputQuantizer?.Step.Item(), l.Layer.InputQuantizer?.Grid.Signed ?? true)).ToList();
    }

    /// <summary>Runs the calibration batches and keeps, per layer, an evenly strided sample of its inputs and their minimum.</summary>
    static (float[] Values, float Min)[] Calibrate(Module model, List<(string Name, QuantizedLayer Layer)> layers, IEnumerable<Tensor> batches, int samples)
    {
        var batchList = batches.ToList();
        if (batchList.Count == 0) throw new ArgumentException("ptq: no calibration batch");
        var seen = layers.Select(_ => (Values: new List<float>(), Min: float.PositiveInfinity)).ToArray();
        int perBatch = Math.Max(1, samples / batchList.Count);
        for (int i = 0; i < layers.Count; i++)
        {
            int k = i;
            layers[i].Layer.InputObserver = x =>
            {
                var a = x.ToArray();
                int stride = Math.Max(1, a.Length / perBatch);
                for (int j = 0; j < a.Length; j += stride) seen[k].Values.Add(a[j]);
                seen[k].Min = Math.Min(seen[k].Min, a.Min());
            };
        }
        using (GradMode.NoGrad())
            foreach (var x in batchList) model.Call(x);
        foreach (var (_, q) in layers) q.InputObserver = null;
        return seen.Select(s => (s.Values.ToArray(), s.Min)).ToArray();
    }
}
