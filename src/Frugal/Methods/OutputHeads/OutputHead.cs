using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Data;
using Frugal.Ops;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Methods.OutputHeads;

/// <summary>
/// The output heads of ../shared/METHODS.md §4.2 (Øland, arXiv 1707.04199) as losses of the last layer's output
/// y [N, C] against one-hot targets of the labels: mean over the batch of the sum over classes, as
/// <see cref="Losses.CrossEntropy"/>. The claim tested: softmax's normaliser hurts and what helps is an
/// exponentiated error, so a linear output whose back-propagated error is exp'd or cubed converges faster with SGD.
/// Softmax is the engine's fused cross-entropy; the others are one node whose backward is the error of
/// <see cref="HeadMath"/>, computed in the forward by the backend's element-wise kernels (any device, no host trip).
/// Accuracy stays the arg-max of y for every head.
/// </summary>
public static class OutputHead
{
    /// <summary>The head's loss of <paramref name="output"/> [N, C] for class <paramref name="labels"/>.</summary>
    public static Tensor HeadLoss(this Tensor output, int[] labels, HeadOptions options, float labelSmoothing = 0)
    {
        options.Validate();
        if (options.Kind == HeadKind.Softmax) return output.CrossEntropy(labels, labelSmoothing);
        if (labelSmoothing != 0)
            throw new ArgumentException($"head {Name(options.Kind)}: label smoothing applies to the softmax head only, got {labelSmoothing}");
        return new HeadLossFn().Forward(output, labels, options);
    }

    /// <summary>The head as the objective of a <see cref="Trainer"/> or a hand-written loop (options validated now).</summary>
    public static LossFunction Loss(HeadOptions options, float labelSmoothing = 0)
    {
        options.Validate();
        if (options.Kind != HeadKind.Softmax && labelSmoothing != 0)
            throw new ArgumentException($"head {Name(options.Kind)}: label smoothing applies to the softmax head only, got {labelSmoothing}");
        string what = $"head {Name(options.Kind)}";
        return (output, batch) => output.HeadLoss(batch.RequireLabels(what), options, labelSmoothing);
    }

    /// <summary>t [N, C] with t[i, labels[i]] = 1 and 0 elsewhere.</summary>
    public static Tensor OneHot(int[] labels, int classes, Device device)
    {
        var t = new float[labels.Length * classes];
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentException($"one_hot: label {labels[i]} at index {i} is out of range for {classes} classes");
            t[i * classes + labels[i]] = 1;
        }
        return Tensor.FromArray(t, new Shape(labels.Length, classes), device);
    }

    static string Name(HeadKind kind) => Options.EnumNames<HeadKind>.Name(kind);

    /// <summary>ℓ = (1/N)·Σᵢ Σ_c ℓ(y_ic, t_ic) of <see cref="HeadMath.Loss"/>; the forward also forms the error
    /// ∂ℓ/∂y = f(z_c)/N (exp: (f(z_c) − t)/N), so the backward is one multiply.</summary>
    sealed class HeadLossFn : Function
    {
        Tensor _error = null!;

        public Tensor Forward(Tensor y, int[] labels, HeadOptions o)
        {
            string name = $"head {Name(o.Kind)}";
            if (y.Rank != 2) throw new ArgumentException($"{name}: the output must be [N, C], got {y.Shape}");
            int n = y.Shape[0], classes = y.Shape[1];
            if (labels.Length != n) throw new ArgumentException($"{name}: {labels.Length} labels for outputs {y.Shape} (expected {n})");
            var t = OneHot(labels, classes, y.Device);
            var kind = o.Kind;
            var z = kind == HeadKind.Exp ? y : Raw(BinaryOp.Sub, y, t);
            var (lo, hi) = HeadMath.ClipRange(kind, o.Clip);
            bool clipped = o.Clip != 0;
            var zc = clipped ? Raw(UnaryOp.Clamp, z, (float)lo, (float)hi) : z;
            float alpha = (float)o.Alpha;
            Tensor f, primitive;
            switch (kind)
            {
                case HeadKind.LinearMse:
                    f = zc;
                    primitive = Raw(UnaryOp.Affine, Raw(UnaryOp.Square, zc), 0.5f, 0);
                    break;
                case HeadKind.Exp:
                    f = primitive = Raw(UnaryOp.Exp, zc);
                    break;
                case HeadKind.ExpBoost:
                    var scaled = Raw(UnaryOp.Affine, Raw(UnaryOp.Abs, zc), alpha, 0);                 // α|z|
                    var boost = Raw(UnaryOp.Affine, Raw(UnaryOp.Exp, scaled), 1, -1);                // exp(α|z|) − 1
                    f = Raw(BinaryOp.Mul, Raw(UnaryOp.Sign, zc), boost);
                    primitive = Raw(UnaryOp.Affine, Raw(BinaryOp.Sub, boost, scaled), 1 / alpha, 0);
                    break;
                case HeadKind.Cube:
                    f = Raw(UnaryOp.Pow, zc, 3);
                    primitive = Raw(UnaryOp.Affine, Raw(BinaryOp.Mul, f, zc), 0.25f, 0);
                    break;
                default:
                    throw new ArgumentException($"{name}: not an element-wise head");
            }
            // Past the clip the loss follows its tangent: F(z_c) + f(z_c)·(z − z_c).
            var elementLoss = clipped ? Raw(BinaryOp.Add, primitive, Raw(BinaryOp.Mul, f, Raw(BinaryOp.Sub, z, zc))) : primitive;
            if (kind == HeadKind.Exp)
            {
                elementLoss = Raw(BinaryOp.Sub, elementLoss, Raw(BinaryOp.Mul, t, y));
                f = Raw(BinaryOp.Sub, f, t);
            }
            var loss = Tensor.Empty(new Shape(), y.Device);
            y.Backend.Reduce(ReduceOp.Sum, elementLoss, 1, elementLoss.Numel, 1, loss);
            // Mean over an empty batch is NaN, as cross-entropy's.
            y.Backend.Map(UnaryOp.Affine, loss, loss, n == 0 ? float.NaN : 1f / n, 0);
            if (NeedsGrad(y)) _error = Raw(UnaryOp.Affine, f, n == 0 ? 0 : 1f / n, 0);
            return Record(loss, y);
        }

        public override Tensor?[] Backward(Tensor g) => [Raw(BinaryOp.Mul, _error, g)];

        static Tensor Raw(UnaryOp op, Tensor x, float p = 0, float q = 0) => Arithmetic.Raw(op, x, p, q);
        static Tensor Raw(BinaryOp op, Tensor a, Tensor b) => Arithmetic.Raw(op, a, b);
    }
}
