namespace Frugal.Models;

/// <summary>Sizes of the named models. Defaults reproduce ../shared/bench/torch_fashion.py (mlp, cnn).</summary>
/// <param name="Hidden">mlp: hidden layer widths.</param>
/// <param name="Width">cnn: channels of the first stage (the second has 2×); resnet: channels of the first stage.</param>
/// <param name="Depth">resnet: BasicBlocks per stage (3 stages).</param>
/// <param name="Classes">Output classes.</param>
/// <param name="Activation">mlp: the activation after each hidden layer (tanh, e.g., for a closed-form fit's model).</param>
public sealed record ModelOptions(int[]? Hidden = null, int Width = 0, int Depth = 0, int Classes = 10, Nn.ActivationKind Activation = Nn.ActivationKind.Relu)
{
    [System.Text.Json.Serialization.JsonIgnore] public int[] HiddenOrDefault => Hidden ?? [1024, 1024];
}
