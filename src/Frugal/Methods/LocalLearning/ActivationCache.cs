using Frugal.Autograd;
using Frugal.Data;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// A stage's inputs in layer-wise training (METHODS.md §4.3): the frozen prefix's outputs, either computed once for
/// every example and held in memory (<see cref="Build"/>: one forward of the prefix instead of one per epoch), or
/// recomputed each batch by a <see cref="FrozenPrefix"/>. Caching needs deterministic examples: an augmented data set
/// would be frozen at one draw of its augmentation.
/// </summary>
public static class ActivationCache
{
    /// <summary>The outputs of <paramref name="prefix"/> (in eval mode, without a graph) for every example of
    /// <paramref name="source"/>, in its order, with its labels and targets: a data set for the next stage.</summary>
    public static TensorDataset Build(IDataset source, Module prefix, Device device, int batchSize = 256)
    {
        var loader = new DataLoader(source, batchSize, shuffle: false, device: device);
        float[]? inputs = null;
        int[]? shape = null, labels = null, targetShape = null;
        float[]? targets = null;
        int done = 0;
        bool training = prefix.Training;
        prefix.Eval();
        try
        {
            using var _ = GradMode.NoGrad();
            foreach (var batch in loader.Epoch(0))
            {
                using var step = device.BeginStep();
                var y = prefix.Call(batch.Inputs);
                if (inputs == null)
                {
                    shape = y.Shape.Dims[1..].ToArray();
                    long size = (long)source.Count * y.Numel / batch.Size;
                    if (size > Array.MaxLength)
                        throw new ArgumentException($"activation cache: {source.Count} examples of shape [{string.Join(", ", shape)}] exceed one array; use cache off");
                    inputs = new float[size];
                    if (batch.Labels != null) labels = new int[source.Count];
                    if (batch.Targets is { } t)
                    {
                        targetShape = t.Shape.Dims[1..].ToArray();
                        targets = new float[(long)source.Count * t.Numel / batch.Size];
                    }
                }
                y.ToArray().CopyTo(inputs, (long)done * (inputs.Length / source.Count));
                batch.Labels?.CopyTo(labels!, done);
                batch.Targets?.ToArray().CopyTo(targets!, (long)done * (targets!.Length / source.Count));
                done += batch.Size;
            }
        }
        finally { prefix.Train(training); }
        if (inputs == null) throw new ArgumentException("activation cache: the data set has no examples");
        return new TensorDataset(inputs, shape!, labels, targets, targetShape);
    }

    /// <summary>Bytes a cache of <paramref name="examples"/> features of <paramref name="features"/> holds (float32).</summary>
    public static long Bytes(int examples, Shape features) => (long)examples * features.Numel * sizeof(float);

    /// <summary>Whether every batch of the data set is the same each epoch, so its prefix outputs may be cached: an
    /// <see cref="ImageDataset"/> without augmentation or a <see cref="TensorDataset"/>; anything else is not known to be.</summary>
    public static bool IsDeterministic(IDataset data) => data is ImageDataset { Augmentation.Enabled: false } or TensorDataset;
}
