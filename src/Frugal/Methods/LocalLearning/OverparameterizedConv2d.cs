using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// A <see cref="Conv2d"/> trained as a conv to r channels (kernel A [r, in, kh, kw], the original's stride, padding and
/// dilation) followed by a 1×1 conv (B [out, r]) with the original's bias. By linearity this is the conv with
/// W[o] = Σᵣ B[o, r]·A[r], i.e. W = B·A on W viewed as [out, in·kh·kw] (<see cref="Overparameterized"/>).
/// </summary>
public sealed class OverparameterizedConv2d : Module, Overparameterized.IFactored
{
    readonly Conv2d _original;
    public Tensor A { get; private set; }
    public Tensor B { get; private set; }
    public Tensor? Bias { get; private set; }
    public int InnerWidth { get; }

    public OverparameterizedConv2d(Conv2d original, double factor, Generator generator)
    {
        if (original.Groups != 1) throw new ArgumentException($"over-parameterisation: {original} is grouped; only ungrouped convs factor as B·A");
        _original = original;
        var (kh, kw) = original.KernelSize;
        int dOut = original.OutChannels, dIn = original.InChannels * kh * kw;
        InnerWidth = Overparameterized.InnerWidth(dIn, dOut, factor);
        var (b, a) = Overparameterized.Factorize(original.Weight.ToArray(), dOut, dIn, InnerWidth, generator);
        var device = original.Weight.Device;
        A = Parameter("a", Tensor.FromArray(a, new Shape(InnerWidth, original.InChannels, kh, kw), device));
        B = Parameter("b", Tensor.FromArray(b, new Shape(dOut, InnerWidth, 1, 1), device));
        if (original.Bias != null) Bias = Parameter("bias", original.Bias);
    }

    protected override Tensor Forward(Tensor x) =>
        x.Conv2d(A, null, _original.Stride, _original.Padding, 1, _original.Dilation).Conv2d(B, Bias);

    public Module Collapse()
    {
        using (GradMode.NoGrad())
            _original.Weight.CopyFrom(B.Reshape(B.Shape[0], InnerWidth).Matmul(A.Reshape(InnerWidth, -1)).Reshape(_original.Weight.Shape));
        return _original;
    }

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "a") A = moved; else if (name == "b") B = moved; else Bias = moved;
    }

    public override string ToString() => $"OverparameterizedConv2d({_original.InChannels}, {_original.OutChannels}, r={InnerWidth})";
}
