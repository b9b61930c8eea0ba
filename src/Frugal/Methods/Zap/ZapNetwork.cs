using Frugal.Autograd;
using Frugal.Data;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Options;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Methods.Zap;

/// <summary>
/// ZAP attached to a trained CNN (Shomron et al., ECCV 2020; ../shared/METHODS.md §6): a predictor after each chosen
/// ReLU, hooked on the ReLU's output, so the backbone's modules and state dict stay as they were. Trains the predictors
/// label-free, measures their threshold curves, applies masks at chosen thresholds, and recovers accuracy by BN
/// recalibration or a backbone fine-tune. Dispose removes the hooks.
/// </summary>
public sealed class ZapNetwork : IDisposable
{
    public Module Model { get; }
    public ZapOptions Options { get; }
    public IReadOnlyList<ZapLayer> Layers { get; }
    /// <summary>MACs of one image through every conv and linear layer of the dense model.</summary>
    public long ModelMacsPerImage { get; }
    readonly List<RemovableHandle> _hooks = [];

    ZapNetwork(Module model, ZapOptions options, List<ZapLayer> layers, long modelMacs)
    {
        Model = model; Options = options; Layers = layers; ModelMacsPerImage = modelMacs;
        foreach (var l in layers)
        {
            var relu = model.NamedModules().First(m => m.Name == l.Name).Module;
            _hooks.Add(relu.RegisterForwardHook((_, y) => l.OnOutput(y)));
        }
    }

    /// <summary>
    /// Attaches predictors to <paramref name="model"/>, whose input images are [C, H, W] = <paramref name="imageShape"/>
    /// (one probe forward finds each ReLU's map size and the model's MACs). A ReLU qualifies when a Conv2d comes before
    /// it in forward order and its output is a 4-D map; the producing conv is the nearest one before it.
    /// </summary>
    public static ZapNetwork Attach(Module model, ZapOptions options, Shape imageShape, ulong seed = 0)
    {
        options.Validate();
        var pattern = SpatialPattern.Get(options.Pattern);
        var modules = model.NamedModules().ToList();
        var shapes = new Dictionary<Module, Shape>();
        long macs = 0;
        var probes = new List<RemovableHandle>();
        foreach (var (_, m) in modules)
            if (m is Conv2d or Linear or ReLU)
                probes.Add(m.RegisterForwardHook((mod, y) =>
                {
                    shapes[mod] = y.Shape;
                    if (mod is Conv2d c) macs += y.Numel * ZapMath.MacsPerOutput(c.InChannels, c.Groups, c.KernelSize.H, c.KernelSize.W);
                    if (mod is Linear lin) macs += (long)y.Numel * lin.InFeatures;
                    return y;
                }));
        bool was = model.Training;
        model.Eval();
        using (GradMode.NoGrad())
        {
            var device = model.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
            model.Call(Tensor.Zeros(new Shape([1, .. imageShape.ToArray()]), device));
        }
        model.Train(was);
        foreach (var h in probes) h.Dispose();

        var candidates = new List<(string Name, string ConvName, Conv2d Conv, Shape Shape)>();
        (string Name, Conv2d Conv)? lastConv = null;
        foreach (var (name, m) in modules)
        {
            if (m is Conv2d c) lastConv = (name, c);
            else if (m is ReLU && lastConv is { } pc && shapes.TryGetValue(m, out var s) && s.Rank == 4) candidates.Add((name, pc.Name, pc.Conv, s));
        }
        var chosen = Select(candidates.Select(c => c.Name).ToList(), options.Layers);
        var g = new Generator(seed);
        var layers = candidates.Where(c => chosen.Contains(c.Name))
            .Select(c => new ZapLayer(c.Name, c.ConvName, c.Conv, new ZapPredictor(c.Shape[1], pattern, options.Bias, g), c.Shape[2], c.Shape[3]))
            .ToList();
        var dev = model.Parameters().FirstOrDefault()?.Device ?? Device.Cpu;
        if (dev != Device.Cpu) foreach (var l in layers) l.Predictor.To(dev);
        return new ZapNetwork(model, options, layers, macs);
    }

    static HashSet<string> Select(List<string> all, string? spec)
    {
        if (all.Count == 0) throw new OptionException("layers", "the model has no ReLU after a convolution: ZAP needs a CNN");
        if (spec == null) return all.Skip(all.Count > 1 ? 1 : 0).ToHashSet();
        if (spec.Trim() == "all") return all.ToHashSet();
        var set = new HashSet<string>();
        foreach (var name in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            OptionException.Require(all.Contains(name), "layers", $"'{name}' is not a ReLU after a convolution (choose from: {string.Join(", ", all)}, or all)");
            OptionException.Require(set.Add(name), "layers", $"'{name}' is listed twice");
        }
        OptionException.Require(set.Count > 0, "layers", "names no layer");
        return set;
    }

    public void SetMode(ZapMode mode) { foreach (var l in Layers) l.Mode = mode; }

    /// <summary>Per-layer thresholds (null = that layer's ZAP off), in <see cref="Layers"/> order.</summary>
    public void SetThresholds(IReadOnlyList<double?> thresholds)
    {
        if (thresholds.Count != Layers.Count) throw new ArgumentException($"zap: {thresholds.Count} thresholds for {Layers.Count} layers");
        for (int i = 0; i < Layers.Count; i++) Layers[i].Threshold = thresholds[i];
    }

    /// <summary>
    /// Trains every predictor (paper §3.3): the backbone frozen in eval mode, run once per batch with its activations
    /// captured; each predictor then learns alone from its own layer (the others off, so what each sees is exactly what
    /// it would see trained by itself), target y = 1[x &gt; 0] with 1 on computed positions, ŷ = clamp(u + P, 0, 1),
    /// MSE loss, Adam at <see cref="ZapOptions.LearningRate"/>, predictor BN in train mode. Returns the mean loss per
    /// layer of each epoch; <paramref name="onEpoch"/> sees them as they come.
    /// </summary>
    public List<double[]> TrainPredictors(DataLoader data, Action<int, double[]>? onEpoch = null)
    {
        var optimizers = Layers.Select(l => new Adam(l.Predictor.Parameters(), Options.LearningRate)).ToList();
        bool was = Model.Training;
        Model.Eval();
        SetMode(ZapMode.Capture);
        var history = new List<double[]>();
        try
        {
            for (int epoch = 0; epoch < Options.Epochs; epoch++)
            {
                var sums = new double[Layers.Count];
                int batches = 0;
                foreach (var batch in data.Epoch(epoch))
                {
                    using var step = data.Device.BeginStep();
                    using (GradMode.NoGrad()) Model.Call(batch.Inputs);
                    for (int i = 0; i < Layers.Count; i++)
                    {
                        var l = Layers[i];
                        l.Predictor.Train();
                        var loss = PredictorLoss(l.Predictor, l.Captured!);
                        optimizers[i].ZeroGrad();
                        loss.Backward();
                        optimizers[i].Step();
                        sums[i] += loss.Item();
                    }
                    batches++;
                }
                var mean = sums.Select(s => s / Math.Max(1, batches)).ToArray();
                history.Add(mean);
                onEpoch?.Invoke(epoch, mean);
            }
        }
        finally
        {
            SetMode(ZapMode.Off);
            foreach (var l in Layers) { l.Predictor.Eval(); }
            Model.Train(was);
        }
        return history;
    }

    /// <summary>MSE(clamp(u + P, 0, 1), 1[x &gt; 0] ⊙ (1 − P) + P) for the activation x (paper, Eq. 2).</summary>
    public static Tensor PredictorLoss(ZapPredictor predictor, Tensor x)
    {
        var u = predictor.Call(x);
        var (p, notP) = predictor.Masks(x);
        Tensor target;
        using (GradMode.NoGrad()) target = x.Sign().Clamp(0, 1).Mul(notP).Add(p);
        return u.Add(p).Clamp(0, 1).MseLoss(target);
    }

    /// <summary>
    /// Each layer's curves over the candidate thresholds (<see cref="ZapOptions.Thresholds"/>) on <paramref name="data"/>
    /// with the backbone dense (each ZAP measured alone, the paper's additive-error assumption): predicted zeros per
    /// image and error(t) = 1 − Σ(x·m)/Σx.
    /// </summary>
    public List<ZapCurve> MeasureCurves(DataLoader data, int maxBatches = int.MaxValue)
    {
        var ts = Options.Thresholds;
        var zeros = Layers.Select(_ => new long[ts.Length]).ToList();
        var kept = Layers.Select(_ => new double[ts.Length]).ToList();
        var total = new double[Layers.Count];
        long images = 0;
        bool was = Model.Training;
        Model.Eval();
        SetMode(ZapMode.Capture);
        try
        {
            using var _ = GradMode.NoGrad();
            int b = 0;
            foreach (var batch in data.Epoch(0))
            {
                if (b++ >= maxBatches) break;
                using var step = data.Device.BeginStep();
                Model.Call(batch.Inputs);
                images += batch.Size;
                for (int i = 0; i < Layers.Count; i++)
                {
                    var l = Layers[i];
                    l.Predictor.Eval();
                    var x = l.Captured!.ToArray();
                    var u = l.Predictor.Call(l.Captured!).ToArray();
                    var computed = l.Predictor.Pattern.Mask(l.Height, l.Width);
                    int plane = l.Height * l.Width;
                    double sum = 0;
                    for (int e = 0; e < x.Length; e++)
                    {
                        float xv = x[e];
                        sum += xv;
                        if (computed[e % plane] != 0) { for (int k = 0; k < ts.Length; k++) kept[i][k] += xv; continue; }
                        for (int k = 0; k < ts.Length; k++)
                            if (u[e] > ts[k]) kept[i][k] += xv; else zeros[i][k]++;
                    }
                    total[i] += sum;
                }
            }
        }
        finally { SetMode(ZapMode.Off); Model.Train(was); }
        return Layers.Select((l, i) => new ZapCurve(l.Name, ts,
            zeros[i].Select(z => (double)z / Math.Max(1, images)).ToArray(),
            kept[i].Select(k => ZapMath.Error(k, total[i])).ToArray(),
            l.MacsPerOutput, l.PredictorMacsPerImage)).ToList();
    }

    /// <summary>Test accuracy with the masks at the current thresholds, and the MACs they saved there.</summary>
    public (double Accuracy, ZapMacReport Macs) Evaluate(DataLoader data)
    {
        foreach (var l in Layers) l.ResetCounts();
        SetMode(ZapMode.Mask);
        try
        {
            var (_, acc) = Evaluation.Run(Model, data);
            return (acc, Report());
        }
        finally { SetMode(ZapMode.Off); }
    }

    /// <summary>The MAC report of the masked forwards counted since the layers' last reset.</summary>
    public ZapMacReport Report() => new(ModelMacsPerImage, Layers.Select(l => new ZapLayerMacs(
        l.Name, l.ConvName, l.Threshold, l.ConvMacsPerImage, l.Threshold == null ? 0 : l.PredictorMacsPerImage,
        l.Images == 0 ? 0 : (double)l.PredictedZeros / l.Images, l.MacsPerOutput,
        ZapMath.Error(l.KeptSum, l.TotalSum), l.Channels * l.Height * l.Width)).ToList());

    /// <summary>
    /// Recomputes the backbone's BatchNorm running statistics under the masks (paper §3.4): train-mode forwards without
    /// a graph or a weight update over <see cref="ZapOptions.RecalibrationBatches"/> batches, predictors frozen.
    /// </summary>
    public void RecalibrateBn(DataLoader data)
    {
        bool was = Model.Training;
        Model.Train();
        SetMode(ZapMode.Mask);
        try
        {
            using var _ = GradMode.NoGrad();
            int b = 0;
            foreach (var batch in data.Epoch(0))
            {
                if (b++ >= Options.RecalibrationBatches) break;
                using var step = data.Device.BeginStep();
                Model.Call(batch.Inputs);
            }
        }
        finally { SetMode(ZapMode.Off); Model.Train(was); }
    }

    /// <summary>One epoch of the backbone under the masks, predictors frozen (paper §3.4): SGD at
    /// <see cref="ZapOptions.FineTuneLearningRate"/>, momentum 0.9, weight decay 5·10⁻⁴, cross-entropy on the labels.</summary>
    public double FineTune(DataLoader data)
    {
        var opt = new Sgd(Model.Parameters(), Options.FineTuneLearningRate, momentum: 0.9, weightDecay: 5e-4);
        bool was = Model.Training;
        Model.Train();
        SetMode(ZapMode.Mask);
        double sum = 0;
        int n = 0;
        try
        {
            foreach (var batch in data.Epoch(0))
            {
                using var step = data.Device.BeginStep();
                var loss = Model.Call(batch.Inputs).CrossEntropy(batch.RequireLabels("zap fine-tune"));
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
                sum += loss.Item();
                n++;
            }
        }
        finally { SetMode(ZapMode.Off); Model.Train(was); }
        return sum / Math.Max(1, n);
    }

    /// <summary>A copy of the backbone's parameters and buffers, for <see cref="Restore"/> after an operating point's
    /// recalibration or fine-tune.</summary>
    public Dictionary<string, Tensor> Snapshot() => Model.StateDict().ToDictionary(p => p.Key, p =>
    {
        var t = Tensor.Empty(p.Value.Shape, p.Value.Device);
        t.CopyFrom(p.Value);
        return t;
    });

    public void Restore(Dictionary<string, Tensor> snapshot) => Model.LoadStateDict(snapshot);

    public void Dispose()
    {
        foreach (var h in _hooks) h.Dispose();
        _hooks.Clear();
    }
}
