using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// The small classifier a locally trained piece learns through (METHODS.md §4.3): on image features [C, H, W],
/// <c>depth</c> × (conv3x3 C→C, BatchNorm, ReLU), then global average pooling and a linear layer to the classes —
/// Belilovsky et al. (2019) needed 1–3 such convs to come near end-to-end accuracy on CIFAR-10, and depth 0 (pool +
/// linear) is the cheapest head; on flat features [F], <c>depth</c> × (Linear F→F, ReLU), then a linear layer.
/// </summary>
public static class AuxiliaryHead
{
    public static Sequential Create(Shape features, int classes, int depth = 0, Generator? generator = null)
    {
        if (classes < 1) throw new ArgumentException($"auxiliary head: classes must be at least 1, got {classes}");
        if (depth < 0) throw new ArgumentException($"auxiliary head: depth must be ≥ 0, got {depth}");
        var head = new Sequential();
        switch (features.Rank)
        {
            case 3:
                int c = features[0];
                for (int i = 0; i < depth; i++)
                    head.Append(new Conv2d(c, c, 3, padding: 1, bias: false, generator: generator)).Append(new BatchNorm2d(c)).Append(new ReLU());
                return head.Append(new AdaptiveAvgPool2d(1)).Append(new Flatten()).Append(new Linear(c, classes, generator: generator));
            case 1:
                int f = features[0];
                for (int i = 0; i < depth; i++) head.Append(new Linear(f, f, generator: generator)).Append(new ReLU());
                return head.Append(new Linear(f, classes, generator: generator));
            default:
                throw new ArgumentException($"auxiliary head: features of shape {features} are neither images [C, H, W] nor flat [F]");
        }
    }
}
