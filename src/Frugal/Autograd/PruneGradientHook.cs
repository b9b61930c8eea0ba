using Frugal.Backends;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Autograd;

/// <summary>
/// A gradient hook that prunes element-wise (<see cref="IBackend.Prune"/>), registered with
/// <see cref="Tensor.RegisterHook(PruneGradientHook)"/>. It runs like any hook, except where the gradient has one
/// producer whose backward can prune while it writes (batch-norm backward, <see cref="Function.CanPruneInputGradient"/>)
/// and the tensor has no other hook: there the engine hands that backward the prune, and the pass that would read the
/// gradient back and write a pruned copy disappears. Both paths give the same bits.
/// </summary>
public abstract class PruneGradientHook
{
    /// <summary>How the gradient about to be produced is to be pruned, or null to see it first (then
    /// <see cref="Apply"/> runs, e.g. when the threshold is fitted to this very gradient). Asked once per backward,
    /// right before the producer runs.</summary>
    public abstract PrunePlan? Plan();

    /// <summary>The hook itself: the pruned gradient, in a fresh tensor (the incoming one may be shared).</summary>
    public abstract Tensor Apply(Tensor gradient);

    /// <summary>The producer wrote the gradient pruned as <see cref="Plan"/> said; <paramref name="stats"/> is what
    /// its pass measured, as <see cref="Apply"/>'s pass would have.</summary>
    public abstract void Pruned(PruneStats stats);
}

/// <summary>What <see cref="IBackend.Prune"/> is to do: kind, threshold α and the seed of its random stream.</summary>
public readonly record struct PrunePlan(PruneKind Kind, float Threshold, ulong Seed);
