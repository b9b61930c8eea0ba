using Frugal.Data;
using Frugal.Training;

namespace Frugal.Runs;

/// <summary>What a learning-rate search ranks its trials by.</summary>
public enum LearningRateCriterion
{
    /// <summary>The mean training loss of the last epoch, lowest first: no held-out data is used to choose. Compares
    /// rates of one loss only (one head), which is what the search is for.</summary>
    TrainLoss,
    /// <summary>The test accuracy after the last epoch, highest first (needs a test loader).</summary>
    TestAccuracy,
}

/// <summary>One trained learning rate. A diverged trial (non-finite loss or weights) ranks below every other.</summary>
public sealed record LearningRateTrial(double LearningRate, double TrainLoss, double TestAccuracy, bool Diverged);

/// <summary>The trials in grid order and the chosen rate.</summary>
public sealed record LearningRateSearchResult(IReadOnlyList<LearningRateTrial> Trials, LearningRateCriterion Criterion)
{
    /// <summary>The best trial by <see cref="Criterion"/>; the lower rate on a tie; null when every trial diverged.</summary>
    public LearningRateTrial? Best => Trials.Where(t => !t.Diverged)
        .OrderBy(t => Criterion == LearningRateCriterion.TrainLoss ? t.TrainLoss : -t.TestAccuracy).ThenBy(t => t.LearningRate)
        .FirstOrDefault();
}

/// <summary>
/// Trains each learning rate of a grid for a short budget from the same initialisation and data order and picks the
/// best (../shared/METHODS.md §4.2: every output head needs its own learning rate, so heads are compared each at its
/// best rather than at one shared rate).
/// </summary>
public static class LearningRateSearch
{
    /// <summary><paramref name="points"/> rates spaced evenly in log from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static double[] LogGrid(double min, double max, int points)
    {
        if (!(min > 0 && max >= min && double.IsFinite(max)))
            throw new ArgumentException($"lr search: needs 0 < min ≤ max, got min {min}, max {max}");
        if (points < 1 || (points == 1 && max != min))
            throw new ArgumentException($"lr search: needs at least 2 points between two different rates (1 when min = max), got {points}");
        if (points == 1) return [min];
        var grid = Enumerable.Range(0, points).Select(i => Math.Exp(Math.Log(min) + i * (Math.Log(max) - Math.Log(min)) / (points - 1))).ToArray();
        (grid[0], grid[^1]) = (min, max);
        return grid;
    }

    /// <summary>Trains the trainer <paramref name="build"/> makes for each rate for <paramref name="epochs"/>
    /// epochs; <paramref name="progress"/> hears each trial as it ends.</summary>
    public static LearningRateSearchResult Run(IReadOnlyList<double> rates, Func<double, Trainer> build, int epochs,
        LearningRateCriterion criterion = LearningRateCriterion.TrainLoss, Action<LearningRateTrial>? progress = null)
    {
        if (rates.Count == 0) throw new ArgumentException("lr search: no learning rate to try");
        foreach (var lr in rates)
            if (!(lr > 0 && double.IsFinite(lr))) throw new ArgumentException($"lr search: learning rates must be positive, got {lr}");
        var trials = new List<LearningRateTrial>();
        foreach (var lr in rates)
        {
            var trainer = build(lr);
            if (criterion == LearningRateCriterion.TestAccuracy && trainer.TestLoader == null)
                throw new ArgumentException("lr search: ranking by test accuracy needs a trainer with a test loader");
            LearningRateTrial trial;
            try
            {
                var last = trainer.Run(epochs)[^1];
                trial = new(lr, last.TrainLoss, last.TestAccuracy, !double.IsFinite(last.TrainLoss));
            }
            catch (TrainingDivergedException) { trial = new(lr, double.NaN, double.NaN, true); }
            trials.Add(trial);
            progress?.Invoke(trial);
        }
        return new LearningRateSearchResult(trials, criterion);
    }

    /// <summary>The search for a run config: each trial is <paramref name="options"/> at that rate (its epochs and
    /// train_limit are the budget; no run folder), built by <see cref="RunBuilder"/> on the given data.</summary>
    public static LearningRateSearchResult Run(TrainOptions options, IReadOnlyList<double> rates, ImageDataset train, ImageDataset test,
        LearningRateCriterion criterion = LearningRateCriterion.TrainLoss, Action<LearningRateTrial>? progress = null)
    {
        options = (options with { Out = null }).Validate();
        return Run(rates, lr => RunBuilder.Build(options with { LearningRate = lr }, train, test), options.Epochs, criterion, progress);
    }
}
