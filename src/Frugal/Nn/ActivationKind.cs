namespace Frugal.Nn;

/// <summary>An element-wise activation chosen by name (run configs, the mlp's <c>model_options.activation</c>, the
/// closed-form fit), named as in torch.nn.</summary>
public enum ActivationKind { Relu, Tanh, Sigmoid, LeakyRelu }

public static class ActivationKinds
{
    /// <summary>The negative slope of <see cref="ActivationKind.LeakyRelu"/> (PyTorch's default).</summary>
    public const float LeakyReluSlope = 0.01f;

    /// <summary>The activation as a layer.</summary>
    public static Module Create(this ActivationKind kind) => kind switch
    {
        ActivationKind.Relu => new ReLU(),
        ActivationKind.Tanh => new Tanh(),
        ActivationKind.Sigmoid => new Sigmoid(),
        ActivationKind.LeakyRelu => new LeakyReLU(LeakyReluSlope),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "activation: unknown kind"),
    };
}
