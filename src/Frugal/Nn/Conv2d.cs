using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>
/// 2-D convolution layer, weight [out, in/groups, kh, kw] and bias [out] as in PyTorch (state-dict keys weight, bias),
/// initialised like torch.nn.Conv2d.reset_parameters with fan_in = in/groups·kh·kw.
/// </summary>
public sealed class Conv2d : Module
{
    public int InChannels { get; }
    public int OutChannels { get; }
    public (int H, int W) KernelSize { get; }
    public (int H, int W) Stride { get; }
    public (int H, int W) Padding { get; }
    public (int H, int W) Dilation { get; }
    public int Groups { get; }
    public Tensor Weight { get; private set; }
    public Tensor? Bias { get; private set; }

    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int groups = 1,
        bool bias = true, Generator? generator = null, int dilation = 1)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), groups, bias, generator, (dilation, dilation)) { }

    public Conv2d(int inChannels, int outChannels, (int H, int W) kernelSize, (int H, int W) stride, (int H, int W) padding,
        int groups = 1, bool bias = true, Generator? generator = null, (int H, int W)? dilation = null)
    {
        var d = dilation ?? (1, 1);
        if (inChannels <= 0 || outChannels <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: channels in={inChannels}, out={outChannels} must be positive and divisible by groups={groups}");
        if (kernelSize.H <= 0 || kernelSize.W <= 0 || stride.H <= 0 || stride.W <= 0 || padding.H < 0 || padding.W < 0 || d.H <= 0 || d.W <= 0)
            throw new ArgumentException($"Conv2d: kernel {kernelSize}, stride {stride} and dilation {d} must be positive, padding {padding} non-negative");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize;
        Stride = stride; Padding = padding; Dilation = d; Groups = groups;
        int fanIn = inChannels / groups * kernelSize.H * kernelSize.W;
        Weight = Parameter("weight", Init.KaimingUniformDefault(new Shape(outChannels, inChannels / groups, kernelSize.H, kernelSize.W), fanIn, generator));
        if (bias) Bias = Parameter("bias", Init.BiasDefault(outChannels, fanIn, generator));
    }

    protected override Tensor Forward(Tensor x) => x.Conv2d(Weight, Bias, Stride, Padding, Groups, Dilation);

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "weight") Weight = moved; else Bias = moved;
    }

    public override string ToString() =>
        $"Conv2d({InChannels}, {OutChannels}, kernel_size={KernelSize}, stride={Stride}, padding={Padding}" +
        $"{(Dilation != (1, 1) ? $", dilation={Dilation}" : "")}{(Groups != 1 ? $", groups={Groups}" : "")}, bias={Bias != null})";
}
