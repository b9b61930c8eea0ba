using Frugal.Nn;

namespace Frugal.Methods.ClosedForm;

/// <summary>
/// f⁻¹ of an invertible activation, applied to hidden targets after clipping them into f's open range shrunk by a
/// margin (../shared/METHODS.md §4.5: "H* clipped to f's range"), so that atanh and logit stay finite:
/// tanh: h ∈ [−1 + ε, 1 − ε] → atanh h; sigmoid: h ∈ [ε, 1 − ε] → log(h / (1 − h)); leaky ReLU (slope a): any h →
/// h ≥ 0 ? h : h / a (its range is all of ℝ, nothing is clipped).
/// </summary>
public static class InverseActivation
{
    /// <summary>Whether f has an inverse on its range (ReLU does not: every negative input maps to 0).</summary>
    public static bool IsInvertible(ActivationKind f) => f is ActivationKind.Tanh or ActivationKind.Sigmoid or ActivationKind.LeakyRelu;

    /// <summary>Replaces each hidden target h by f⁻¹(clip(h)) in place; <paramref name="margin"/> is ε.</summary>
    public static void Apply(ActivationKind f, Span<float> h, double margin)
    {
        switch (f)
        {
            case ActivationKind.Tanh:
                for (int i = 0; i < h.Length; i++) h[i] = (float)Math.Atanh(Math.Clamp(h[i], -1 + margin, 1 - margin));
                break;
            case ActivationKind.Sigmoid:
                for (int i = 0; i < h.Length; i++)
                {
                    double v = Math.Clamp(h[i], margin, 1 - margin);
                    h[i] = (float)Math.Log(v / (1 - v));
                }
                break;
            case ActivationKind.LeakyRelu:
                for (int i = 0; i < h.Length; i++) if (h[i] < 0) h[i] /= ActivationKinds.LeakyReluSlope;
                break;
            default:
                throw new ArgumentException($"inverse activation: {Options.EnumNames<ActivationKind>.Name(f)} has no inverse (use tanh, sigmoid or leaky_relu)");
        }
    }
}
