using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// Depth-wise pieces of a sequential model for local training (METHODS.md §4.3–4.4): stages of one weighted layer
/// each, and partitions of consecutive stages. The pieces share the model's modules, so training a piece trains the
/// model, and the model's state dict keeps its names.
/// </summary>
public static class ModelStages
{
    /// <summary>
    /// The model's layers in stages: each stage starts at a weighted layer (one with a weight matrix or kernel: a conv,
    /// a linear layer, or a block holding them) and carries the layers without one that follow it — BatchNorm,
    /// activations, pooling, flatten, dropout — up to the next. Layers before the first weighted layer (the mlp's
    /// Flatten) join the first stage. The reference cnn has six stages: four conv-BN-ReLU(-pool) and two linear.
    /// </summary>
    public static IReadOnlyList<Sequential> Split(Sequential model)
    {
        var stages = new List<Sequential>();
        var pending = new List<Module>();
        foreach (var layer in model.Layers)
        {
            if (IsWeighted(layer) && pending.Any(IsWeighted))
            {
                stages.Add(new Sequential([.. pending]));
                pending.Clear();
            }
            pending.Add(layer);
        }
        // Every stage closed so far began at a weighted layer, and so does the open one unless there was none at all.
        if (!pending.Any(IsWeighted))
            throw new ArgumentException("model stages: the model has no weighted layer (conv or linear) to train");
        stages.Add(new Sequential([.. pending]));
        return stages;
    }

    /// <summary>The stages grouped into <paramref name="k"/> partitions of consecutive stages, the earlier ones one
    /// stage longer when they do not divide evenly (k = the number of stages: layer-wise).</summary>
    public static IReadOnlyList<Sequential> Partition(Sequential model, int k)
    {
        var stages = Split(model);
        if (k < 1 || k > stages.Count)
            throw new ArgumentException($"model stages: cannot cut {stages.Count} stages into {k} partitions; choose 1 to {stages.Count}");
        var parts = new List<Sequential>();
        int next = 0;
        for (int p = 0; p < k; p++)
        {
            int size = stages.Count / k + (p < stages.Count % k ? 1 : 0);
            parts.Add(new Sequential([.. stages.Skip(next).Take(size).SelectMany(s => s.Layers)]));
            next += size;
        }
        return parts;
    }

    /// <summary>A layer with a weight matrix or kernel (a parameter of rank ≥ 2) anywhere inside it.</summary>
    public static bool IsWeighted(Module layer) => layer.Parameters().Any(p => p.Rank >= 2);

    /// <summary>The shape, batch dimension excluded, of <paramref name="piece"/>'s output for one input of
    /// <paramref name="inputShape"/> (batch excluded), found by running it without a graph in eval mode.</summary>
    public static Shape OutputShape(Module piece, Shape inputShape, Device? device = null)
    {
        bool training = piece.Training;
        piece.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            var y = piece.Call(Tensor.Zeros(new Shape([1, .. inputShape.Dims]), device));
            return new Shape(y.Shape.Dims[1..].ToArray());
        }
        finally { piece.Train(training); }
    }
}
