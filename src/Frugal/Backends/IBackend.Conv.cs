using Frugal.Tensors;

namespace Frugal.Backends;

/// <summary>
/// Geometry of a 2-D sliding window over planes of <see cref="Height"/>×<see cref="Width"/>, shared by
/// convolution and pooling: kernel, stride, zero padding on both sides, dilation (PyTorch's meanings).
/// The output extent is PyTorch's floor formula, out = ⌊(in + 2·pad − dilation·(kernel − 1) − 1) / stride⌋ + 1.
/// </summary>
public readonly record struct Window2d(int Height, int Width, int KernelH, int KernelW,
    int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0, int DilationH = 1, int DilationW = 1)
{
    public int OutH => (Height + 2 * PadH - DilationH * (KernelH - 1) - 1) / StrideH + 1;
    public int OutW => (Width + 2 * PadW - DilationW * (KernelW - 1) - 1) / StrideW + 1;
    /// <summary>Kernel taps per channel, KernelH·KernelW.</summary>
    public int Taps => KernelH * KernelW;
    /// <summary>True when the window is a single pixel read in place (1×1, stride 1, no padding): im2col is the identity.</summary>
    public bool IsPointwise => KernelH == 1 && KernelW == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;
}

/// <summary>
/// Kernels of convolution (im2col / col2im around the backend GEMM) and of 2-D pooling. Image tensors
/// are [N, C, H, W] (a leading-axis view selects a chunk of images); the window's Height and Width
/// must match the input's last two axes.
/// </summary>
public partial interface IBackend
{
    /// <summary>
    /// im2col: unrolls the windows of x [N, C, H, W] into columns. For image n, row r = (c·KernelH + ki)·KernelW + kj and
    /// output pixel p = oh·OutW + ow, writes col[n·imageStride + r·rowStride + p] = x[n, c, oh·StrideH − PadH + ki·DilationH,
    /// ow·StrideW − PadW + kj·DilationW] (0 where that falls in the padding). Every addressed element is written.
    /// With imageStride = C·Taps·OutH·OutW and rowStride = OutH·OutW the layout is [N, C·Taps, OutH·OutW] (one GEMM
    /// operand per image); with imageStride = OutH·OutW and rowStride = N·OutH·OutW it is [C·Taps, N·OutH·OutW].
    /// </summary>
    void Im2Col(Tensor x, Window2d window, Tensor col, int imageStride, int rowStride);

    /// <summary>
    /// col2im, the adjoint of <see cref="Im2Col"/> with the same layout arguments: overwrites dx [N, C, H, W] with the
    /// sum, over all window positions, of the column entries that read each input pixel. Entries that read padding are
    /// dropped, and col2im may overwrite them in col (zeros): col is treated as scratch.
    /// </summary>
    void Col2Im(Tensor col, int imageStride, int rowStride, Window2d window, Tensor dx);

    /// <summary>
    /// Direct convolution y = conv2d(x, w) + b without im2col, where the backend has a kernel for the window and
    /// layout; false (nothing written) when it has none (e.g. grouped), and the caller takes im2col + GEMM.
    /// </summary>
    /// <remarks><paramref name="inputs"/>: the product over those input channels only (<see cref="ChannelSubset"/>);
    /// x and w keep all C channels and are read in place.</remarks>
    bool TryConv2dDirect(Tensor x, Tensor w, Tensor? b, Window2d window, Tensor y, ChannelSubset? inputs = null) => false;

    /// <summary>Overwrites gx [N, C, H, W] with the input gradient of <see cref="TryConv2dDirect"/> for gy; false when unsupported.</summary>
    /// <remarks>With <paramref name="inputs"/>, gx is zero outside the subset.</remarks>
    bool TryConv2dBackwardDataDirect(Tensor gy, Tensor w, Window2d window, Tensor gx, ChannelSubset? inputs = null) => false;

    /// <summary>Overwrites gw [Cout, C, kh, kw] with the weight gradient Σ_n of <see cref="TryConv2dDirect"/> for gy; false when unsupported.</summary>
    /// <remarks>With <paramref name="inputs"/>, gw is zero outside the subset.</remarks>
    bool TryConv2dBackwardWeightDirect(Tensor gy, Tensor x, Window2d window, Tensor gw, ChannelSubset? inputs = null) => false;

    /// <summary>y[n, c, …] = values[c] for y viewed as [N, C, rest] with C = values.Numel (a per-channel broadcast fill, e.g. a conv bias).</summary>
    void FillChannels(Tensor y, Tensor values);

    /// <summary>
    /// Max pooling of x [N, C, H, W] into y [N, C, OutH, OutW], padding counting as −∞ and NaN winning (PyTorch's rule).
    /// When <paramref name="indices"/> (shape of y) is given, it receives the flat in-plane position ih·Width + iw of each
    /// maximum (the first one on ties), stored as float: exact for planes below 2²⁴ pixels and kept on the device.
    /// </summary>
    void MaxPool2d(Tensor x, Window2d window, Tensor y, Tensor? indices);

    /// <summary>Overwrites gx [N, C, H, W] with zeros plus gy scattered (added) to the positions in indices from <see cref="MaxPool2d"/>.</summary>
    void MaxPool2dBackward(Tensor gy, Tensor indices, Window2d window, Tensor gx);

    /// <summary>
    /// Average pooling of x [N, C, H, W] into y [N, C, OutH, OutW] (zero padding). The divisor is KernelH·KernelW when
    /// <paramref name="countIncludePad"/> (PyTorch's default; windows never reach past the padding since out is floored),
    /// else the number of window pixels inside the input.
    /// </summary>
    void AvgPool2d(Tensor x, Window2d window, bool countIncludePad, Tensor y);

    /// <summary>Overwrites gx [N, C, H, W] with the adjoint of <see cref="AvgPool2d"/>: each gy spread evenly (÷ the same divisor) over its window.</summary>
    void AvgPool2dBackward(Tensor gy, Window2d window, bool countIncludePad, Tensor gx);

    /// <summary>
    /// Adaptive average pooling of x [N, C, H, W] into y [N, C, OH, OW] (sizes from the shapes): output bin i along an
    /// axis of length L averages input positions ⌊i·L/O⌋ ≤ j &lt; ⌈(i+1)·L/O⌉, as PyTorch.
    /// </summary>
    void AdaptiveAvgPool2d(Tensor x, Tensor y);

    /// <summary>Overwrites gx [N, C, H, W] with the adjoint of <see cref="AdaptiveAvgPool2d"/> for gy [N, C, OH, OW].</summary>
    void AdaptiveAvgPool2dBackward(Tensor gy, Tensor gx);
}
