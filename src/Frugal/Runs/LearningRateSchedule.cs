using Frugal.Optim;

namespace Frugal.Runs;

/// <summary>The run's learning-rate schedule, per optimisation step, built from the options out of the
/// Optim schedules (pure functions of the step, so a resumed run needs no schedule state).</summary>
public static class LearningRateSchedule
{
    public static ILrSchedule Create(TrainOptions o, int stepsPerEpoch)
    {
        int warmup = (int)Math.Round(o.WarmupEpochs * stepsPerEpoch);
        int total = Math.Max(1, o.Epochs * stepsPerEpoch - warmup);
        ILrSchedule main = o.Schedule switch
        {
            // Annealed to 0 over the steps after warm-up (PyTorch's CosineAnnealingLR, T_max = those steps).
            ScheduleKind.Cosine => new CosineAnnealing(o.LearningRate, total),
            ScheduleKind.Step => new StepLR(o.LearningRate, Math.Max(1, o.StepEpochs * stepsPerEpoch), o.StepGamma),
            _ => new Constant(o.LearningRate),
        };
        return warmup > 0 ? new LinearWarmup(warmup, main) : main;
    }
}
