using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>Layer norm over the trailing <c>NormalizedShape</c> axes, with weight = 1 and bias = 0 of that shape (PyTorch's nn.LayerNorm).</summary>
public sealed class LayerNorm : Module
{
    public int[] NormalizedShape { get; }
    public float Eps { get; }
    public Tensor? Weight { get; private set; }
    public Tensor? Bias { get; private set; }

    public LayerNorm(int[] normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
    {
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm: normalized shape [{string.Join(", ", normalizedShape)}] must be non-empty with positive sizes");
        NormalizedShape = (int[])normalizedShape.Clone();
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = Parameter("weight", Tensor.Ones(NormalizedShape));
            if (bias) Bias = Parameter("bias", Tensor.Zeros(NormalizedShape));
        }
    }

    public LayerNorm(int normalizedShape, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
        : this([normalizedShape], eps, elementwiseAffine, bias) { }

    protected override Tensor Forward(Tensor x) => x.LayerNorm(NormalizedShape, Weight, Bias, Eps);

    protected override void OnTensorMoved(string name, Tensor moved)
    {
        if (name == "weight") Weight = moved; else Bias = moved;
    }

    public override string ToString() => $"LayerNorm([{string.Join(", ", NormalizedShape)}], eps={Eps}, elementwise_affine={Weight != null})";
}
