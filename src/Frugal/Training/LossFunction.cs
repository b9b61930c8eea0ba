using Frugal.Data;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Training;

/// <summary>The training objective: a scalar loss of the model's output on a batch (mean over the batch).</summary>
public delegate Tensor LossFunction(Tensor output, Batch batch);

/// <summary>The usual objectives as <see cref="LossFunction"/>s.</summary>
public static class LossFunctions
{
    /// <summary>Cross-entropy of logits against the batch's class labels, with optional label smoothing.</summary>
    public static LossFunction CrossEntropy(float labelSmoothing = 0) =>
        (output, batch) => output.CrossEntropy(batch.RequireLabels("cross_entropy"), labelSmoothing);

    /// <summary>Mean squared error against the batch's target tensor.</summary>
    public static LossFunction MeanSquaredError() =>
        (output, batch) => output.MseLoss(batch.RequireTargets("mse"));
}
