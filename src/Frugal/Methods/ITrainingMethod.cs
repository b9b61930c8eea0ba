using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods;

/// <summary>
/// An efficient-training method (gradient pruning, low-bit gradients, approximate layers, …), built from its own
/// options record. Methods compose: attach each in turn (the Trainer does, in the order it is given them) and
/// every method's figures are reported next to the epoch's loss and accuracy in metrics.jsonl. A hand-written loop
/// calls the same members itself (and adds each <see cref="Penalty"/> to its loss before backward).
/// </summary>
public interface ITrainingMethod
{
    /// <summary>Called once, after the model is built: swap layers, register hooks. Methods keep the model's
    /// parameter tensors (a swapped layer shares them), so an optimizer built before or after sees the same ones.</summary>
    void Attach(Module model);

    /// <summary>Before the forward pass of each training step; <paramref name="batch"/> counts from 0.</summary>
    void OnStep(int epoch, int batch, int batchesPerEpoch) { }

    /// <summary>A term added to every micro-batch's loss before backward (a regulariser such as KURE's λ·R), computed
    /// afresh from the live weights at each call so its gradient reaches them; null = none. The reported training loss
    /// is the task loss alone: a method reports its own term.</summary>
    Tensor? Penalty() => null;

    /// <summary>At the end of an epoch's training part: adds this epoch's figures (snake_case keys) and
    /// starts counting afresh.</summary>
    void CollectEpochFigures(IDictionary<string, object> figures) { }
}
