using Frugal.Nn;
using Frugal.Optim;

namespace Frugal.Training;

/// <summary>Builds the optimizer named in the options.</summary>
public static class OptimizerFactory
{
    public static Optimizer Create(TrainOptions o, Module model) => o.Optimizer switch
    {
        "sgd" => new Sgd(model.Parameters(), o.LearningRate, momentum: o.Momentum, weightDecay: o.WeightDecay, nesterov: o.Nesterov),
        "adam" => new Adam(model.Parameters(), o.LearningRate, weightDecay: o.WeightDecay),
        "adamw" => new AdamW(model.Parameters(), o.LearningRate, weightDecay: o.WeightDecay),
        _ => throw new ArgumentException($"--optimizer: unknown optimizer '{o.Optimizer}' (sgd, adam, adamw)"),
    };
}
