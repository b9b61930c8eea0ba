using Frugal.Nn;

namespace Frugal.Training;

/// <summary>
/// An efficient-training method switched on by <see cref="TrainOptions"/> (gradient pruning, low-bit
/// gradients, approximate layers, …). Methods compose: the Trainer attaches each in turn and reports
/// every method's figures next to the epoch's loss and accuracy in metrics.jsonl.
/// </summary>
public interface ITrainingMethod
{
    /// <summary>Called once, after the model is built and before the optimizer sees its parameters:
    /// swap layers, register hooks.</summary>
    void Attach(Module model);

    /// <summary>Before the forward pass of each training step; <paramref name="batch"/> counts from 0.</summary>
    void OnStep(int epoch, int batch, int batchesPerEpoch) { }

    /// <summary>At the end of an epoch's training part: adds this epoch's figures (snake_case keys) and
    /// starts counting afresh.</summary>
    void CollectEpochFigures(IDictionary<string, object> figures) { }
}
