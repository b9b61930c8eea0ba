using Frugal.Backends.Cpu;
using Frugal.Backends.Cuda.Kernels;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Convolution helpers and 2-D pooling on the GPU (IBackend.Conv.cs); kernels in Kernels/ConvKernels.cs.
public sealed partial class CudaBackend
{
    public void Im2Col(Tensor x, Window2d window, Tensor col, int imageStride, int rowStride)
    {
        CpuBackend.CheckPlanes("im2col", x, window);
        int n = x.Shape[0], c = x.Shape[1];
        long total = (long)n * c * window.Taps * window.OutH * window.OutW;
        Launch(ConvKernels.Module, "fr_im2col", LaunchShape.ForElements(total), P(x), P(col), n, c, KernelArg.Struct(FrWin.From(window)), imageStride, rowStride);
    }

    public void Col2Im(Tensor col, int imageStride, int rowStride, Window2d window, Tensor dx)
    {
        CpuBackend.CheckPlanes("col2im", dx, window);
        int n = dx.Shape[0], c = dx.Shape[1];
        Launch(ConvKernels.Module, "fr_col2im", LaunchShape.ForElements(dx.Numel), P(col), P(dx), n, c, KernelArg.Struct(FrWin.From(window)), imageStride, rowStride);
    }

    public void FillChannels(Tensor y, Tensor values)
    {
        int c = values.Numel;
        if (y.Rank < 2 || y.Shape[1] != c)
            throw new ArgumentException($"fill_channels: tensor {y.Shape} does not have {c} channels on axis 1");
        int rows = y.Shape[0] * c, inner = rows == 0 ? 0 : y.Numel / rows;
        if (inner == 0) return;
        Launch(ConvKernels.Module, "fr_fill_channels", LaunchShape.ForElements(y.Numel), P(y), P(values), y.Numel, c, inner);
    }

    public void MaxPool2d(Tensor x, Window2d window, Tensor y, Tensor? indices)
    {
        CpuBackend.CheckPlanes("max_pool2d", x, window);
        int planes = x.Shape[0] * x.Shape[1];
        Launch(ConvKernels.Module, "fr_max_pool2d", LaunchShape.ForElements((long)planes * window.OutH * window.OutW),
            P(x), P(y), P(indices, this), planes, KernelArg.Struct(FrWin.From(window)));
    }

    public void MaxPool2dBackward(Tensor gy, Tensor indices, Window2d window, Tensor gx)
    {
        CpuBackend.CheckPlanes("max_pool2d_backward", gx, window);
        int planes = gx.Shape[0] * gx.Shape[1];
        Launch(ConvKernels.Module, "fr_max_pool2d_backward", LaunchShape.ForElements(gx.Numel),
            P(gy), P(indices), P(gx), planes, KernelArg.Struct(FrWin.From(window)));
    }

    public void AvgPool2d(Tensor x, Window2d window, bool countIncludePad, Tensor y)
    {
        CpuBackend.CheckPlanes("avg_pool2d", x, window);
        int planes = x.Shape[0] * x.Shape[1];
        Launch(ConvKernels.Module, "fr_avg_pool2d", LaunchShape.ForElements((long)planes * window.OutH * window.OutW),
            P(x), P(y), planes, KernelArg.Struct(FrWin.From(window)), Flag(countIncludePad));
    }

    public void AvgPool2dBackward(Tensor gy, Window2d window, bool countIncludePad, Tensor gx)
    {
        CpuBackend.CheckPlanes("avg_pool2d_backward", gx, window);
        int planes = gx.Shape[0] * gx.Shape[1];
        Launch(ConvKernels.Module, "fr_avg_pool2d_backward", LaunchShape.ForElements(gx.Numel),
            P(gy), P(gx), planes, KernelArg.Struct(FrWin.From(window)), Flag(countIncludePad));
    }

    public void AdaptiveAvgPool2d(Tensor x, Tensor y)
    {
        int planes = x.Shape[0] * x.Shape[1];
        Launch(ConvKernels.Module, "fr_adaptive_avg_pool2d", LaunchShape.ForElements(y.Numel),
            P(x), P(y), planes, x.Shape[2], x.Shape[3], y.Shape[2], y.Shape[3]);
    }

    public void AdaptiveAvgPool2dBackward(Tensor gy, Tensor gx)
    {
        int planes = gx.Shape[0] * gx.Shape[1];
        Launch(ConvKernels.Module, "fr_adaptive_avg_pool2d_backward", LaunchShape.ForElements(gx.Numel),
            P(gy), P(gx), planes, gx.Shape[2], gx.Shape[3], gy.Shape[2], gy.Shape[3]);
    }
}
