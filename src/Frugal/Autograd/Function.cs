using Frugal.Tensors;

namespace Frugal.Autograd;

/// <summary>
/// One node of the define-by-run tape. An op computes its output without grad, then calls
/// <see cref="Record"/>, which links the output to the inputs when gradients are wanted.
/// Subclasses keep what <see cref="Backward"/> needs in fields, with Backward written right under
/// the forward (tinygrad's layout). A subclass computes its output with raw kernels or inside
/// <c>using (GradMode.NoGrad())</c>, then calls Record outside that scope. Users subclass it too, to give a layer a custom backward
/// (column-row sampling replaces the backward GEMMs of Linear and Conv2d this way).
/// </summary>
public abstract class Function
{
    /// <summary>The inputs recorded for this node, in the order Backward returns their gradients.</summary>
    public IReadOnlyList<Tensor> Inputs { get; private set; } = [];

    /// <summary>Given the gradient of the output, returns one gradient per input (null where none is needed).
    /// Runs with grad mode off.</summary>
    public abstract Tensor?[] Backward(Tensor gradOutput);

    /// <summary>Whether <see cref="Backward"/> can prune the gradient it returns for input 0 as it writes it: then the
    /// engine sets <see cref="InputGradientPrune"/> when that input's only gradient is this node's and its only hook
    /// is a <see cref="PruneGradientHook"/>, and Backward must apply it.</summary>
    protected internal virtual bool CanPruneInputGradient => false;

    /// <summary>The prune Backward is to apply to input 0's gradient (see <see cref="CanPruneInputGradient"/>), or null.</summary>
    protected internal Backends.GradientPrune? InputGradientPrune { get; internal set; }

    /// <summary>Whether any of the inputs needs a gradient (and grad mode is on).</summary>
    protected static bool NeedsGrad(params Tensor[] inputs)
    {
        if (!GradMode.IsEnabled) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Links <paramref name="output"/> into the graph if any input requires grad; returns it.</summary>
    protected Tensor Record(Tensor output, params Tensor[] inputs)
    {
        if (!NeedsGrad(inputs)) return output;
        Inputs = inputs;
        output.GradFn = this;
        output.RequiresGrad = true;
        return output;
    }

    /// <summary>Drops references to inputs and saved tensors once backward has used them.</summary>
    internal void Release() => Inputs = [];
}
