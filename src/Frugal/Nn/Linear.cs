using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>y = x·Wᵀ + b; weight [out, in] as in PyTorch.</summary>
public sealed class Linear : Module
{
    public int InFeatures { get; }
    public int OutFeatures { get; }
    public Tensor Weight { get; private set; }
    public Tensor? Bias { get; private set; }

    public Linear(int inFeatures, int outFeatures, bool bias = true, Generator? generator = null)
    {
        if (inFeatures <= 0 || outFeatures <= 0) throw new ArgumentException($"Linear: features must be positive, got in={inFeatures}, out={outFeatures}");
        InFeatures = inFeatures; OutFeatures = outFeatures;
        Weight = Parameter("weight", Init.KaimingUniformDefault(new Shape(outFeatures, inFeatures), inFeatures, generator));
        if (bias) Bias = Parameter("bias", Init.BiasDefault(outFeatures, inFeatures, generator));
    }

    protected override Tensor Forward(Tensor x)
    {
        if (x.Rank != 2 || x.Shape[1] != InFeatures)
            throw new ArgumentException($"Linear({InFeatures}, {OutFeatures}): input has shape {x.Shape}, expected [N, {InFeatures}]");
        return x.Linear(Weight, Bias);
    }

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "weight") Weight = moved; else Bias = moved;
    }

    public override string ToString() => $"Linear({InFeatures}, {OutFeatures}, bias={Bias != null})";
}
