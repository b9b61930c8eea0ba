using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.LocalLearning;

/// <summary>A <see cref="Linear"/> trained as y = (x·Aᵀ)·Bᵀ + b, i.e. W = B·A (<see cref="Overparameterized"/>):
/// two GEMMs through the inner width r, both with the engine's own backward.</summary>
public sealed class OverparameterizedLinear : Module, Overparameterized.IFactored
{
    readonly Linear _original;
    public Tensor A { get; private set; }
    public Tensor B { get; private set; }
    public Tensor? Bias { get; private set; }
    public int InnerWidth { get; }

    public OverparameterizedLinear(Linear original, double factor, Generator generator)
    {
        _original = original;
        int dOut = original.OutFeatures, dIn = original.InFeatures;
        InnerWidth = Overparameterized.InnerWidth(dIn, dOut, factor);
        var (b, a) = Overparameterized.Factorize(original.Weight.ToArray(), dOut, dIn, InnerWidth, generator);
        var device = original.Weight.Device;
        A = Parameter("a", Tensor.FromArray(a, new Shape(InnerWidth, dIn), device));
        B = Parameter("b", Tensor.FromArray(b, new Shape(dOut, InnerWidth), device));
        // The original's bias tensor itself: trained in place, nothing to collapse.
        if (original.Bias != null) Bias = Parameter("bias", original.Bias);
    }

    protected override Tensor Forward(Tensor x) => x.Linear(A).Linear(B, Bias);

    public Module Collapse()
    {
        using (GradMode.NoGrad()) _original.Weight.CopyFrom(B.Matmul(A));
        return _original;
    }

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "a") A = moved; else if (name == "b") B = moved; else Bias = moved;
    }

    public override string ToString() => $"OverparameterizedLinear({_original.InFeatures}, {_original.OutFeatures}, r={InnerWidth})";
}
