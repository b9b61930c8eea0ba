namespace Frugal.Optim;

/// <summary>
/// A learning rate as a pure function of a step count: the number of scheduler steps taken so far
/// (PyTorch's last_epoch), counted in epochs or in iterations as the caller chooses, 0 for the first.
/// Being pure, a resumed run needs only the count (e.g. <see cref="Optimizer.Steps"/>) to continue
/// exactly. Schedules compose: <see cref="LinearWarmup"/> wraps any other.
/// </summary>
public interface ILrSchedule
{
    double LearningRate(int step);
}

public static class LrSchedule
{
    /// <summary>Sets the optimizer's learning rate to the schedule's value at <paramref name="step"/>.</summary>
    public static void Apply(this ILrSchedule schedule, Optimizer optimizer, int step) =>
        optimizer.LearningRate = schedule.LearningRate(step);

    internal static void CheckStep(string schedule, int step)
    {
        if (step < 0) throw new ArgumentOutOfRangeException(nameof(step), $"{schedule}: step must be ≥ 0, got {step}");
    }

    internal static void CheckRate(string schedule, string what, double value)
    {
        if (!(value >= 0) || double.IsInfinity(value)) throw new ArgumentException($"{schedule}: {what} must be finite and ≥ 0, got {value}");
    }
}
