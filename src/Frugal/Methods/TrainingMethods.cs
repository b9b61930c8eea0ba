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
        // Layer replacements first (column-row sampling), so gradient methods hook the layers that actually run.
        if (options.Approx != null) methods.Add(Approximate.CrsApproximation.FromOptions(options));
        // Gradient hooks run in attach order: pruning first, then the low-bit cast of what survives.
        if (options.GradPrune > 0) methods.Add(new Compression.NeuralGradientPruning(Compression.GradPruneOptions.FromTrainOptions(options)));
        if (options.GradFormat != null) methods.Add(Compression.LowBitGradients.FromOptions(options));
        return methods;
    }
}
