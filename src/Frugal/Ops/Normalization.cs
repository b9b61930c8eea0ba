using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Batch normalisation (Ioffe &amp; Szegedy 2015) and layer normalisation (Ba et al. 2016) with PyTorch's
/// semantics, each a fused backend kernel for the forward and one for the backward.
/// </summary>
public static class Normalization
{
    /// <summary>
    /// Batch norm of x [N, C] or [N, C, *] with statistics per channel over N and the trailing axes.
    /// Training: normalises with the batch mean and biased variance, and updates the running statistics
    /// in place as PyTorch does: r ← (1 − momentum)·r + momentum·s, with the unbiased variance for
    /// running_var. Evaluation: normalises with the running statistics.
    /// </summary>
    public static Tensor BatchNorm(this Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
                                   bool training, float momentum = 0.1f, float eps = 1e-5f) =>
        new BatchNormFn().Forward(x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: false);

    /// <summary>
    /// relu(batch_norm(x, …)) as one op: the ReLU is applied in the normalising pass and its backward in the batch norm's
    /// backward passes (masking g by the saved output), so the pre-activation is never written and each of the two
    /// saves a full read and write of the tensor. Same values and gradients as <c>x.BatchNorm(…).Relu()</c>.
    /// </summary>
    public static Tensor BatchNormRelu(this Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
                                       bool training, float momentum = 0.1f, float eps = 1e-5f) =>
        new BatchNormFn().Forward(x, weight, bias, runningMean, runningVar, training, momentum, eps, relu: true);

    /// <summary>
    /// Layer norm over the last axes of x, which must equal <paramref name="normalizedShape"/>:
    /// y = (x − mean)/√(biased variance + eps)·weight + bias; weight and bias have the normalized shape.
    /// </summary>
    public static Tensor LayerNorm(this Tensor x, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, float eps = 1e-5f) =>
        new LayerNormFn().Forward(x, normalizedShape, weight, bias, eps);

    static void CheckChannels(Tensor x, Tensor? t, string name, int channels)
    {
        if (t == null) return;
        if (t.Rank != 1 || t.Shape[0] != channels)
            throw new ArgumentException($"batch_norm: input {x.Shape} has {channels} channels, {name} has {(t.Rank == 1 ? t.Shape[0] : t.Numel)} (shape {t.Shape}, expected [{channels}])");
        Arithmetic.SameDevice("batch_norm", x, t);
    }

    sealed class BatchNormFn : Function
    {
        Tensor _x = null!, _mean = null!, _var = null!;
        Tensor? _weight;
        Backends.FusedRelu? _relu;
        int _outer, _channels, _inner;
        float _eps;
        bool _batchStats, _hasWeight, _hasBias;

        public Tensor Forward(Tensor x, Tensor? weight, Tensor? bias, Tensor? runningMean, Tensor? runningVar,
                              bool training, float momentum, float eps, bool relu)
        {
            if (x.Rank < 2) throw new ArgumentException($"batch_norm: expected input [N, C] or [N, C, ...], got {x.Shape}");
            int n = x.Shape[0], c = x.Shape[1], inner = x.Shape.Prod(2, x.Rank), m = n * inner;
            CheckChannels(x, weight, "weight", c);
            CheckChannels(x, bias, "bias", c);
            CheckChannels(x, runningMean, "running_mean", c);
            CheckChannels(x, runningVar, "running_var", c);
            if ((runningMean == null) != (runningVar == null))
                throw new ArgumentException("batch_norm: give both running_mean and running_var, or neither");
            if (!training && runningMean == null)
                throw new ArgumentException("batch_norm: evaluation mode needs running_mean and running_var");

            var y = Arithmetic.NewLike(x);
            var backend = x.Backend;
            Tensor mean, var;
            if (training)
            {
                if (m <= 1) throw new ArgumentException($"batch_norm: expected more than 1 value per channel when training, got input {x.Shape}");
                mean = Tensor.Empty(new Shape(c), x.Device);
                var = Tensor.Empty(new Shape(c), x.Device);
                backend.BatchNormTrainForward(x, n, c, inner, weight, bias, eps, y, mean, var, relu);
                if (runningMean != null) UpdateRunning(runningMean, runningVar!, mean, var, momentum, m);
            }
            else
            {
                backend.BatchNormApply(x, n, c, inner, runningMean!, runningVar!, weight, bias, eps, y, relu);
                // Copies: the buffers may be updated in place by a later training step before this backward runs.
                mean = runningMean!; var = runningVar!;
                if (NeedsGrad(x, weight ?? x, bias ?? x)) { mean = Arithmetic.Raw(UnaryOp.Copy, mean); var = Arithmetic.Raw(UnaryOp.Copy, var); }
            }

            _outer = n; _channels = c; _inner = inner; _eps = eps; _batchStats = training;
            _hasWeight = weight != null; _hasBias = bias != null;
            var inputs = new List<Tensor> { x };
            if (weight != null) inputs.Add(weight);
            if (bias != null) inputs.Add(bias);
            if (NeedsGrad(inputs.ToArray())) { _x = x; _mean = mean; _var = var; _weight = weight; _relu = relu ? new Backends.FusedRelu(y, bias) : null; }
            return Record(y, inputs.ToArray());
        }

        /// <summary>PyTorch's update: the batch variance enters running_var unbiased, ·M/(M − 1).</summary>
        static void UpdateRunning(Tensor runningMean, Tensor runningVar, Tensor mean, Tensor var, float momentum, int m)
        {
            var b = mean.Backend;
            var tmp = Arithmetic.NewLike(mean);
            b.Map(UnaryOp.Affine, runningMean, runningMean, 1 - momentum, 0);
            b.Map(UnaryOp.Affine, mean, tmp, momentum, 0);
            b.Zip(BinaryOp.Add, runningMean, tmp, runningMean);
            b.Map(UnaryOp.Affine, runningVar, runningVar, 1 - momentum, 0);
            b.Map(UnaryOp.Affine, var, tmp, (float)(momentum * (double)m / (m - 1)), 0);
            b.Zip(BinaryOp.Add, runningVar, tmp, runningVar);
        }

        protected internal override bool CanPruneInputGradient => true;

        // dβ = Σg, dγ = Σ g·x̂, dx = γ/(σM)·(M·g − Σg − x̂·Σ g·x̂) (training) or γ/σ·g (running statistics).
        public override Tensor?[] Backward(Tensor g)
        {
            var sumG = Tensor.Empty(new Shape(_channels), g.Device);
            var sumGXhat = Tensor.Empty(new Shape(_channels), g.Device);
            var gx = Inputs[0].RequiresGrad ? Arithmetic.NewLike(_x) : null;
            g.Backend.BatchNormBackward(_x, g, _outer, _channels, _inner, _mean, _var, _weight, _eps, _batchStats, gx, sumG, sumGXhat, _relu, InputGradientPrune);
            var res = new List<Tensor?> { gx };
            if (_hasWeight) res.Add(sumGXhat);
            if (_hasBias) res.Add(sumG);
            return res.ToArray();
        }
    }

    sealed class LayerNormFn : Function
    {
        Tensor _x = null!, _mean = null!, _rstd = null!;
        Tensor? _weight;
        Shape _normShape;
        int _rows, _dim;
        bool _hasWeight, _hasBias;

        public Tensor Forward(Tensor x, int[] normalizedShape, Tensor? weight, Tensor? bias, float eps)
        {
            var ns = new Shape(normalizedShape);
            int k = ns.Rank, lead = x.Rank - k;
            if (k == 0 || lead < 0 || !x.Shape.Dims[lead..].SequenceEqual(ns.Dims))
                throw new ArgumentException($"layer_norm: input {x.Shape} does not end with normalized shape {ns}");
            foreach (var (t, name) in new[] { (weight, "weight"), (bias, "bias") })
            {
                if (t == null) continue;
                if (t.Shape != ns) throw new ArgumentException($"layer_norm: {name} has shape {t.Shape}, expected the normalized shape {ns}");
                Arithmetic.SameDevice("layer_norm", x, t);
            }
            _normShape = ns; _dim = ns.Numel; _rows = x.Shape.Prod(0, lead);
            var y = Arithmetic.NewLike(x);
            var mean = Tensor.Empty(new Shape(_rows), x.Device);
            var rstd = Tensor.Empty(new Shape(_rows), x.Device);
            x.Backend.LayerNormForward(x, _rows, _dim, weight, bias, eps, y, mean, rstd);

            _hasWeight = weight != null; _hasBias = bias != null;
            var inputs = new List<Tensor> { x };
            if (weight != null) inputs.Add(weight);
            if (bias != null) inputs.Add(bias);
            if (NeedsGrad(inputs.ToArray())) { _x = x; _mean = mean; _rstd = rstd; _weight = weight; }
            return Record(y, inputs.ToArray());
        }

        // gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·γ; dγ = Σ_rows g·x̂; dβ = Σ_rows g.
        public override Tensor?[] Backward(Tensor g)
        {
            var gx = Inputs[0].RequiresGrad ? Arithmetic.NewLike(_x) : null;
            var gw = _hasWeight && Inputs[1].RequiresGrad ? Tensor.Empty(_normShape, g.Device) : null;
            var gb = _hasBias && Inputs[_hasWeight ? 2 : 1].RequiresGrad ? Tensor.Empty(_normShape, g.Device) : null;
            g.Backend.LayerNormBackward(_x, g, _rows, _dim, _mean, _rstd, _weight, gx, gw, gb);
            var res = new List<Tensor?> { gx };
            if (_hasWeight) res.Add(gw);
            if (_hasBias) res.Add(gb);
            return res.ToArray();
        }
    }
}
