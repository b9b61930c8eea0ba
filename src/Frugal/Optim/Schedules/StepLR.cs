namespace Frugal.Optim;

/// <summary>torch.optim.lr_scheduler.StepLR in closed form: lr = baseLr · γ^⌊step / stepSize⌋.</summary>
public sealed record StepLR : ILrSchedule
{
    public double BaseLr { get; }
    public int StepSize { get; }
    public double Gamma { get; }

    public StepLR(double baseLr, int stepSize, double gamma = 0.1)
    {
        LrSchedule.CheckRate("StepLR", "base learning rate", baseLr);
        LrSchedule.CheckRate("StepLR", "gamma", gamma);
        if (stepSize <= 0) throw new ArgumentException($"StepLR: step size must be > 0, got {stepSize}");
        BaseLr = baseLr; StepSize = stepSize; Gamma = gamma;
    }

    public double LearningRate(int step)
    {
        LrSchedule.CheckStep("StepLR", step);
        return BaseLr * Math.Pow(Gamma, step / StepSize);
    }
}
