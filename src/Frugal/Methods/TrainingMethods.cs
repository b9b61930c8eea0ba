using Frugal.Training;

namespace Frugal.Methods;

/// <summary>
/// Builds the methods a run's options switch on, in the order they attach. The one place that knows
/// every method: the Trainer calls it, so a method set in the options can never be silently skipped.
/// </summary>
public static class TrainingMethods
{
    public static IReadOnlyList<ITrainingMethod> FromOptions(TrainOptions options)
    {
        var methods = new List<ITrainingMethod>();
        if (options.Approx != null) methods.Add(Approximate.CrsApproximation.FromOptions(options));
        return methods;
    }
}
