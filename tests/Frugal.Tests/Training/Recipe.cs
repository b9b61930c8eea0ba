using Frugal.Data;

namespace Frugal.Tests.Training;

/// <summary>Runs a <see cref="Frugal.Runs.TrainOptions"/> recipe on given images, as the CLI does.</summary>
static class Recipe
{
    public static IReadOnlyList<Frugal.Training.EpochMetrics> Fit(Frugal.Runs.TrainOptions o, ImageDataset train, ImageDataset test, bool resume = false) =>
        Frugal.Runs.RunBuilder.Build(o, train, test).Run(o.Epochs, resume);
}
