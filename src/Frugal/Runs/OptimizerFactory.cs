using Frugal.Nn;
using Frugal.Optim;

namespace Frugal.Runs;

/// <summary>Builds the optimizer named in the options.</summary>
public static class OptimizerFactory
{
    public static Optimizer Create(TrainOptions o, Module model) => o.Optimizer switch
    {
        OptimizerKind.Sgd => new Sgd(model.Parameters(), o.LearningRate, momentum: o.Momentum, weightDecay: o.WeightDecay, nesterov: o.Nesterov),
        OptimizerKind.Adam => new Adam(model.Parameters(), o.LearningRate, weightDecay: o.WeightDecay),
        OptimizerKind.AdamW => new AdamW(model.Parameters(), o.LearningRate, weightDecay: o.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o.Optimizer, "optimizer: unknown kind"),
    };
}
