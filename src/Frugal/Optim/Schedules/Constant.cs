namespace Frugal.Optim;

/// <summary>The same learning rate at every step. (Not PyTorch's ConstantLR, which scales the rate for a few steps.)</summary>
public sealed record Constant : ILrSchedule
{
    public double Lr { get; }

    public Constant(double lr)
    {
        LrSchedule.CheckRate("Constant", "learning rate", lr);
        Lr = lr;
    }

    public double LearningRate(int step)
    {
        LrSchedule.CheckStep("Constant", step);
        return Lr;
    }
}
