namespace Frugal.Optim;

/// <summary>
/// A linear ramp into another schedule, as PyTorch's SequentialLR([LinearLR(startFactor, 1, warmupSteps), then],
/// milestones=[warmupSteps]): for step &lt; warmupSteps, lr = then(0)·(startFactor + (1 − startFactor)·step/warmupSteps);
/// afterwards lr = then(step − warmupSteps), so the wrapped schedule starts from its own step 0.
/// startFactor defaults to LinearLR's 1/3.
/// </summary>
public sealed record LinearWarmup : ILrSchedule
{
    public int WarmupSteps { get; }
    public ILrSchedule Then { get; }
    public double StartFactor { get; }

    public LinearWarmup(int warmupSteps, ILrSchedule then, double startFactor = 1.0 / 3)
    {
        if (warmupSteps < 0) throw new ArgumentException($"LinearWarmup: warmup steps must be ≥ 0, got {warmupSteps}");
        if (!(startFactor >= 0 && startFactor <= 1)) throw new ArgumentException($"LinearWarmup: start factor must be in [0, 1], got {startFactor}");
        WarmupSteps = warmupSteps; Then = then ?? throw new ArgumentNullException(nameof(then)); StartFactor = startFactor;
    }

    public double LearningRate(int step)
    {
        LrSchedule.CheckStep("LinearWarmup", step);
        if (step >= WarmupSteps) return Then.LearningRate(step - WarmupSteps);
        return Then.LearningRate(0) * (StartFactor + (1 - StartFactor) * step / WarmupSteps);
    }
}
