using Frugal.Data;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// One partition of <see cref="PartitionTraining"/>: consecutive layers of the model (<see cref="Body"/>), the local
/// head it learns through (none for the last partition, whose output is the model's) and its own optimizer over both.
/// A step sees only its input batch and returns its output detached, so no gradient crosses into the partition before
/// it (METHODS.md §4.4): its graph is garbage as soon as its own backward ends, and the next partition's backward
/// stops at its own first layer (no gradient of its input is computed).
/// </summary>
public sealed class LocalPartition
{
    public Sequential Body { get; }
    /// <summary>The local classifier on <see cref="Body"/>'s output (<see cref="AuxiliaryHead"/>); null for the last partition.</summary>
    public Sequential? Head { get; }
    /// <summary>Over <see cref="Body"/>'s parameters, then <see cref="Head"/>'s.</summary>
    public Optimizer Optimizer { get; }

    // The current pass's sums (PartitionTraining.Train resets them); only the partition's own thread writes them.
    internal double LossSum;
    internal long Correct, Seen;

    internal LocalPartition(Sequential body, Sequential? head, Func<Module, Optimizer> optimizer)
    {
        Body = body;
        Head = head;
        Optimizer = optimizer(head == null ? new Sequential(body) : new Sequential(body, head));
    }

    /// <summary>The body's output on <paramref name="x"/> and the local logits (the output itself for the last partition).</summary>
    internal (Tensor Output, Tensor Logits) Forward(Tensor x)
    {
        var y = Body.Call(x);
        return (y, Head?.Call(y) ?? y);
    }

    /// <summary>
    /// One local step on <paramref name="batch"/>: forward, the loss of the local logits, backward, the optimizer's step
    /// (learning rate from <paramref name="schedule"/> at <paramref name="step"/>). Returns the body's output detached.
    /// The caller holds the device's step scope: this frame ends before it does, so the graph is dead when it recycles.
    /// </summary>
    internal Tensor Step(Batch batch, LossFunction loss, ILrSchedule? schedule, int step, double clipGradNorm)
    {
        if (schedule != null) Optimizer.LearningRate = schedule.LearningRate(step);
        Optimizer.ZeroGrad();
        var (y, logits) = Forward(batch.Inputs);
        var l = loss(logits, batch);
        l.Backward();
        double value = l.Item();
        if (!double.IsFinite(value)) throw new TrainingDivergedException($"partitions: the local loss of a partition became {value} at step {step + 1}; stopped. Try a lower learning rate or gradient-norm clipping.");
        if (clipGradNorm > 0) GradClip.ClipGradNorm(Optimizer.Parameters, clipGradNorm);
        Optimizer.Step();
        LossSum += value * batch.Size;
        Seen += batch.Size;
        if (batch.Labels is { } labels)
        {
            var predicted = logits.ArgMax(1);
            for (int i = 0; i < predicted.Length; i++) if (predicted[i] == labels[i]) Correct++;
        }
        return y.Detach();
    }
}
