using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>
/// Loss functions with mean reduction, matching PyTorch's F.cross_entropy (including label_smoothing)
/// and F.mse_loss. Cross-entropy fuses log-softmax and the negative log-likelihood into one kernel pair.
/// </summary>
public static class Losses
{
    /// <summary>
    /// Mean cross-entropy of <paramref name="logits"/> [N, C] against class indices. With label smoothing ε
    /// each row's loss is (1 − ε)·(−log p_target) + ε·mean_c(−log p_c), as in PyTorch.
    /// </summary>
    public static Tensor CrossEntropy(this Tensor logits, int[] targets, float labelSmoothing = 0) =>
        new CrossEntropyFn().Forward(logits, targets, labelSmoothing);

    /// <summary>mean((input − target)²) over all elements; both operands get gradients.</summary>
    public static Tensor MseLoss(this Tensor input, Tensor target) => new MseFn().Forward(input, target);

    sealed class CrossEntropyFn : Function
    {
        Tensor _probs = null!;
        int[] _targets = [];
        float _smoothing;

        public Tensor Forward(Tensor logits, int[] targets, float labelSmoothing)
        {
            if (logits.Rank != 2)
                throw new ArgumentException($"cross_entropy: logits must be [N, C], got {logits.Shape}");
            int n = logits.Shape[0], c = logits.Shape[1];
            if (targets.Length != n)
                throw new ArgumentException($"cross_entropy: {targets.Length} targets for logits {logits.Shape} (expected {n})");
            if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
                throw new ArgumentException($"cross_entropy: label_smoothing must be in [0, 1], got {labelSmoothing}");
            for (int i = 0; i < n; i++)
                if ((uint)targets[i] >= (uint)c)
                    throw new ArgumentException($"cross_entropy: target {targets[i]} at index {i} is out of range for {c} classes");

            var rowLoss = Tensor.Empty(new Shape(n), logits.Device);
            var probs = Tensor.Empty(logits.Shape, logits.Device);
            logits.Backend.CrossEntropyForward(logits, n, c, targets, labelSmoothing, rowLoss, probs);
            var loss = Tensor.Empty(new Shape(), logits.Device);
            logits.Backend.Reduce(ReduceOp.Sum, rowLoss, 1, n, 1, loss);
            // Mean over an empty batch is NaN, as in PyTorch.
            logits.Backend.Map(UnaryOp.Affine, loss, loss, n == 0 ? float.NaN : 1f / n, 0);
            if (NeedsGrad(logits)) { _probs = probs; _targets = targets.ToArray(); _smoothing = labelSmoothing; }
            return Record(loss, logits);
        }

        // d loss / d logits = (softmax − ((1 − ε)·onehot + ε/C)) / N · g
        public override Tensor?[] Backward(Tensor g)
        {
            int n = _probs.Shape[0], c = _probs.Shape[1];
            var gx = Tensor.Empty(_probs.Shape, g.Device);
            g.Backend.CrossEntropyBackward(_probs, n, c, _targets, _smoothing, g, n == 0 ? 0 : 1f / n, gx);
            return [gx];
        }
    }

    sealed class MseFn : Function
    {
        Tensor _diff = null!;

        public Tensor Forward(Tensor input, Tensor target)
        {
            if (input.Shape != target.Shape)
                throw new ArgumentException($"mse_loss: input {input.Shape} and target {target.Shape} differ (expected equal shapes)");
            Arithmetic.SameDevice("mse_loss", input, target);
            var diff = Arithmetic.Raw(BinaryOp.Sub, input, target);
            var sq = Arithmetic.Raw(UnaryOp.Square, diff);
            var loss = Tensor.Empty(new Shape(), input.Device);
            int n = input.Numel;
            input.Backend.Reduce(ReduceOp.Sum, sq, 1, n, 1, loss);
            input.Backend.Map(UnaryOp.Affine, loss, loss, n == 0 ? float.NaN : 1f / n, 0);
            if (NeedsGrad(input, target)) _diff = diff;
            return Record(loss, input, target);
        }

        // d/d input = 2(input − target)/n · g, d/d target = −that.
        public override Tensor?[] Backward(Tensor g)
        {
            var gi = Arithmetic.Raw(BinaryOp.Mul, _diff, g);
            g.Backend.Map(UnaryOp.Affine, gi, gi, 2f / Math.Max(1, _diff.Numel), 0);
            Tensor? gt = Inputs[1].RequiresGrad ? Arithmetic.Raw(UnaryOp.Neg, gi) : null;
            return [Inputs[0].RequiresGrad ? gi : null, gt];
        }
    }
}
