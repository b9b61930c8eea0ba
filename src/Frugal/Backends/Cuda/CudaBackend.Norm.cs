using Frugal.Backends.Cuda.Kernels;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Activation backward, softmax, cross-entropy, batch norm and layer norm on the GPU (IBackend.Norm.cs); kernels in
// Kernels/NormKernels.cs and ElementwiseKernels.cs.
public sealed partial class CudaBackend
{
    /// <summary>Rows at least this long get a block each in softmax; shorter rows a thread each.</summary>
    const int SoftmaxBlockRowMin = 32;

    public void LeakyReluBackward(Tensor x, Tensor g, float slope, Tensor gx)
    {
        int n = gx.Numel;
        Launch(ElementwiseKernels.Module, "fr_leaky_relu_backward", LaunchShape.ForElements(n), P(x), P(g), P(gx), n, slope);
    }

    public void Softmax(Tensor x, int outer, int dim, int inner, bool log, Tensor y)
    {
        if (outer == 0 || dim == 0 || inner == 0) return;
        if (inner == 1 && dim >= SoftmaxBlockRowMin)
            Launch(NormKernels.Module, "fr_softmax_rows", LaunchShape.PerRow(outer), P(x), P(y), outer, dim, Flag(log));
        else
            Launch(NormKernels.Module, "fr_softmax_cols", LaunchShape.ForElements((long)outer * inner), P(x), P(y), outer, dim, inner, Flag(log));
    }

    public void SoftmaxBackward(Tensor y, Tensor g, int outer, int dim, int inner, bool log, Tensor gx)
    {
        if (outer == 0 || dim == 0 || inner == 0) return;
        if (inner == 1 && dim >= SoftmaxBlockRowMin)
            Launch(NormKernels.Module, "fr_softmax_backward_rows", LaunchShape.PerRow(outer), P(y), P(g), P(gx), outer, dim, Flag(log));
        else
            Launch(NormKernels.Module, "fr_softmax_backward_cols", LaunchShape.ForElements((long)outer * inner), P(y), P(g), P(gx), outer, dim, inner, Flag(log));
    }

    public void CrossEntropyForward(Tensor logits, int n, int c, int[] targets, float labelSmoothing, Tensor loss, Tensor probs)
    {
        if (n == 0) return;
        using var t = UploadInts(targets);
        Launch(NormKernels.Module, "fr_cross_entropy_forward", LaunchShape.PerRow(n), P(logits), t.Pointer, P(loss), P(probs), n, c, labelSmoothing);
    }

    public void CrossEntropyBackward(Tensor probs, int n, int c, int[] targets, float labelSmoothing, Tensor gradLoss, float scale, Tensor gx)
    {
        if (n == 0) return;
        if (gradLoss.Numel != 1 && gradLoss.Numel != n)
            throw new ArgumentException($"cross_entropy backward: gradient has {gradLoss.Numel} values for {n} rows (expected 1 or {n})");
        using var t = UploadInts(targets);
        Launch(NormKernels.Module, "fr_cross_entropy_backward", LaunchShape.ForElements((long)n * c),
            P(probs), t.Pointer, P(gradLoss), P(gx), n, c, labelSmoothing, scale, Flag(gradLoss.Numel != 1));
    }

    public void BatchNormTrainForward(Tensor x, int outer, int channels, int inner, Tensor? weight, Tensor? bias, float eps,
                                      Tensor y, Tensor mean, Tensor variance, bool relu = false)
    {
        Launch(NormKernels.Module, "fr_batch_norm_train", LaunchShape.PerRow(channels),
            P(x), P(weight, this), P(bias, this), P(y), P(mean), P(variance), outer, channels, inner, eps);
        // The GPU's kernels are not fused: the ReLU is its own launch.
        if (relu) Map(UnaryOp.Relu, y, y);
    }

    public void BatchNormApply(Tensor x, int outer, int channels, int inner, Tensor mean, Tensor variance,
                               Tensor? weight, Tensor? bias, float eps, Tensor y, bool relu = false)
    {
        int n = outer * channels * inner;
        if (n == 0) return;
        Launch(NormKernels.Module, "fr_batch_norm_apply", LaunchShape.ForElements(n),
            P(x), P(mean), P(variance), P(weight, this), P(bias, this), P(y), n, channels, inner, eps);
        if (relu) Map(UnaryOp.Relu, y, y);
    }

    public void BatchNormBackward(Tensor x, Tensor g, int outer, int channels, int inner, Tensor mean, Tensor variance,
                                  Tensor? weight, float eps, bool batchStatistics, Tensor? gx, Tensor sumG, Tensor sumGXhat,
                                  FusedRelu? relu = null, GradientPrune? pruneInput = null)
    {
        if (relu != null)
        {
            var masked = Tensor.Uninitialized(g.Shape, g.Device);
            Zip(BinaryOp.ReluBackward, relu.Output, g, masked);
            g = masked;
        }
        Launch(NormKernels.Module, "fr_batch_norm_backward", LaunchShape.PerRow(channels),
            P(x), P(g), P(mean), P(variance), P(weight, this), P(gx, this), P(sumG), P(sumGXhat), outer, channels, inner, eps, Flag(batchStatistics));
        // Not fused here: the separate pass in place gives the same bits.
        if (pruneInput != null && gx != null) Prune(pruneInput.Kind, gx, gx, pruneInput.Threshold, pruneInput.Seed, pruneInput.Stats);
    }

    public void LayerNormForward(Tensor x, int rows, int dim, Tensor? weight, Tensor? bias, float eps, Tensor y, Tensor mean, Tensor rstd)
    {
        if (dim == 0) return;
        Launch(NormKernels.Module, "fr_layer_norm_forward", LaunchShape.PerRow(rows),
            P(x), P(weight, this), P(bias, this), P(y), P(mean), P(rstd), rows, dim, eps);
    }

    public void LayerNormBackward(Tensor x, Tensor g, int rows, int dim, Tensor mean, Tensor rstd, Tensor? weight,
                                  Tensor? gx, Tensor? gWeight, Tensor? gBias)
    {
        if (dim == 0 || rows == 0)
        {
            if (gWeight != null) Fill(gWeight, 0);
            if (gBias != null) Fill(gBias, 0);
            return;
        }
        if (gx != null)
            Launch(NormKernels.Module, "fr_layer_norm_backward_input", LaunchShape.PerRow(rows),
                P(x), P(g), P(mean), P(rstd), P(weight, this), P(gx), rows, dim);
        if (gWeight != null || gBias != null)
            Launch(NormKernels.Module, "fr_layer_norm_backward_params", LaunchShape.ForElements(dim),
                P(x), P(g), P(mean), P(rstd), P(gWeight, this), P(gBias, this), rows, dim);
    }
}
