using Frugal.Tensors;

namespace Frugal.Backends;

// Fused kernels for activations, softmax, losses and normalisation. Each is one pass (or one
// cache-resident group of passes) where a composition of Map/Zip/Reduce would make several.
// Outputs are preallocated by the caller and must not alias an input.
public partial interface IBackend
{
    /// <summary>gx = x &gt; 0 ? g : slope·g (backward of leaky ReLU, PyTorch's rule at x = 0).</summary>
    void LeakyReluBackward(Tensor x, Tensor g, float slope, Tensor gx);

    /// <summary>
    /// Softmax (or log-softmax when <paramref name="log"/>) of x viewed as [outer, dim, inner] along the
    /// middle axis, stabilised by subtracting the maximum: y = exp(x − m)/Σexp(x − m), or
    /// y = x − m − log Σexp(x − m).
    /// </summary>
    void Softmax(Tensor x, int outer, int dim, int inner, bool log, Tensor y);

    /// <summary>
    /// Backward of <see cref="Softmax"/> from its output y and the upstream gradient g, both viewed as
    /// [outer, dim, inner]: softmax gx = y·(g − Σ g·y); log-softmax gx = g − exp(y)·Σ g (sums over dim).
    /// </summary>
    void SoftmaxBackward(Tensor y, Tensor g, int outer, int dim, int inner, bool log, Tensor gx);

    /// <summary>
    /// Cross-entropy of logits [n, c] against class indices (already checked to lie in [0, c)), with
    /// label smoothing ε: loss[i] = (1 − ε)·(lse_i − x[i, t_i]) + ε·(lse_i − mean_j x[i, j]), where
    /// lse_i = log Σ_j exp x[i, j]. Also writes the softmax probabilities [n, c] for the backward.
    /// </summary>
    void CrossEntropyForward(Tensor logits, int n, int c, int[] targets, float labelSmoothing, Tensor loss, Tensor probs);

    /// <summary>
    /// gx[i, j] = (probs[i, j] − (1 − ε)·[j = t_i] − ε/c) · gradLoss[i]·scale, where gradLoss holds n
    /// per-row gradients or one shared value (mean reduction passes the scalar gradient and scale 1/n).
    /// </summary>
    void CrossEntropyBackward(Tensor probs, int n, int c, int[] targets, float labelSmoothing, Tensor gradLoss, float scale, Tensor gx);

    /// <summary>
    /// Batch-norm training forward on x viewed as [outer, channels, inner]: per channel the batch mean and
    /// biased variance over the outer·inner values (written to <paramref name="mean"/>,
    /// <paramref name="variance"/>, both [channels]), then y = (x − mean)/√(variance + eps)·weight + bias
    /// (weight, bias: [channels] or null for 1 and 0); with <paramref name="relu"/>, y = max(0, that): a following
    /// ReLU in the same pass over the data.
    /// </summary>
    void BatchNormTrainForward(Tensor x, int outer, int channels, int inner, Tensor? weight, Tensor? bias, float eps,
                               Tensor y, Tensor mean, Tensor variance, bool relu = false);

    /// <summary>y = (x − mean)/√(variance + eps)·weight + bias per channel with given statistics (evaluation
    /// mode, running statistics); x, y viewed as [outer, channels, inner]; max(0, y) with <paramref name="relu"/>.</summary>
    void BatchNormApply(Tensor x, int outer, int channels, int inner, Tensor mean, Tensor variance,
                        Tensor? weight, Tensor? bias, float eps, Tensor y, bool relu = false);

    /// <summary>
    /// Batch-norm backward over [outer, channels, inner] with M = outer·inner values per channel,
    /// x̂ = (x − mean)·σ⁻¹, σ = √(variance + eps), γ = weight (1 if null). Writes
    /// <paramref name="sumG"/> = Σ g (the bias gradient) and <paramref name="sumGXhat"/> = Σ g·x̂ (the
    /// weight gradient), both [channels], and, if <paramref name="gx"/> is given, the input gradient:
    /// with batch statistics gx = γ/(σ·M)·(M·g − Σg − x̂·Σ g·x̂); with fixed statistics gx = γ/σ·g.
    /// With <paramref name="relu"/> (the fused forward's ReLU), g is the gradient of its output max(0, y) and every
    /// formula above reads g·[y &gt; 0] instead: the ReLU's backward in the same passes.
    /// With <paramref name="pruneInput"/>, gx is written pruned (<see cref="GradientPrune"/>), as if
    /// <see cref="Prune"/> ran on it in place afterwards.
    /// </summary>
    void BatchNormBackward(Tensor x, Tensor g, int outer, int channels, int inner, Tensor mean, Tensor variance,
                           Tensor? weight, float eps, bool batchStatistics, Tensor? gx, Tensor sumG, Tensor sumGXhat,
                           FusedRelu? relu = null, GradientPrune? pruneInput = null);

    /// <summary>
    /// Layer norm over the last <paramref name="dim"/> values of each of <paramref name="rows"/> rows:
    /// y = (x − μ)·rstd·weight + bias with rstd = 1/√(biased variance + eps); weight, bias: [dim] or null.
    /// Writes μ and rstd per row ([rows]) for the backward.
    /// </summary>
    void LayerNormForward(Tensor x, int rows, int dim, Tensor? weight, Tensor? bias, float eps, Tensor y, Tensor mean, Tensor rstd);

    /// <summary>
    /// Layer-norm backward: with x̂ = (x − μ)·rstd and ĝ = g·weight, gx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
    /// per row; gWeight = Σ_rows g·x̂, gBias = Σ_rows g. Any output may be null when not needed.
    /// </summary>
    void LayerNormBackward(Tensor x, Tensor g, int rows, int dim, Tensor mean, Tensor rstd, Tensor? weight,
                           Tensor? gx, Tensor? gWeight, Tensor? gBias);
}

/// <summary>
/// The ReLU of a fused batch-norm forward (<see cref="IBackend.BatchNormTrainForward"/> or
/// <see cref="IBackend.BatchNormApply"/> with relu): its output max(0, y) and the bias y was computed with. The
/// backward's mask [y &gt; 0] may be read from <see cref="Output"/> or formed again from x with the forward's own
/// arithmetic (the same bits, one stream fewer to read); <see cref="Bias"/> is null where the forward had none.
/// </summary>
public sealed record FusedRelu(Tensor Output, Tensor? Bias);
