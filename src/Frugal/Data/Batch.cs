using Frugal.Tensors;

namespace Frugal.Data;

/// <summary>One mini-batch: images [B, C, H, W] (normalised) and class labels.</summary>
public sealed record Batch(Tensor Images, int[] Labels)
{
    public int Size => Labels.Length;
}
