using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>Inverted dropout in training mode, identity in evaluation mode (see <see cref="DropoutOps"/>).</summary>
public sealed class Dropout : Module
{
    public float P { get; }
    readonly Generator? _generator;

    /// <param name="p">Probability of zeroing an element, in [0, 1).</param>
    /// <param name="generator">Source of the masks; null uses <see cref="Generator.Default"/> at each call.</param>
    public Dropout(float p = 0.5f, Generator? generator = null)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentException($"Dropout: probability must be in [0, 1), got {p}");
        P = p;
        _generator = generator;
    }

    protected override Tensor Forward(Tensor x) => x.Dropout(P, Training, _generator);
    public override string ToString() => $"Dropout(p={P})";
}
