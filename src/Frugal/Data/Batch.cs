using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>One mini-batch: inputs [B, …], and the class labels and/or target tensor the loss compares with.</summary>
public sealed record Batch(Tensor Inputs, int[]? Labels = null, Tensor? Targets = null)
{
    public int Size => Inputs.Shape[0];

    /// <summary>The class labels; an error naming the loss when the data set has none.</summary>
    public int[] RequireLabels(string loss) =>
        Labels ?? throw new InvalidOperationException($"{loss}: the batch has no class labels (the data set gives targets only)");

    /// <summary>The target tensor; an error naming the loss when the data set has none.</summary>
    public Tensor RequireTargets(string loss) =>
        Targets ?? throw new InvalidOperationException($"{loss}: the batch has no target tensor (the data set gives class labels only)");
}
