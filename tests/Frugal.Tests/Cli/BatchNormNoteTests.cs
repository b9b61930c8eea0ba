using Frugal.Methods.Approximate;
using Frugal.Models;
using Frugal.Runs;

namespace Frugal.Tests.Cli;

/// <summary>`frugal train` points to --bn-recalibrate exactly when forward sampling trains a model with batch norms
/// whose statistics are left as training accumulated them.</summary>
public class BatchNormNoteTests
{
    static string? Note(string model, ApproxOptions? approx, int recalibrate = 0) =>
        global::Frugal.Cli.ConsoleProgress.BatchNormNote(new TrainOptions { Model = model, Approx = approx, BnRecalibrate = recalibrate }, ModelZoo.Build(model));

    [Fact]
    public void Forward_sampling_on_a_model_with_batch_norms_and_no_reestimation_gets_the_note()
    {
        Assert.Contains("--bn-recalibrate 50", Note("cnn", new ApproxOptions()));
        Assert.Contains("--bn-recalibrate 50", Note("cnn", new ApproxOptions { Mode = ApproxMode.Hybrid }));
    }

    [Fact]
    public void Otherwise_there_is_none()
    {
        Assert.Null(Note("cnn", null));
        Assert.Null(Note("cnn", new ApproxOptions(), recalibrate: 50));
        Assert.Null(Note("cnn", new ApproxOptions { Mode = ApproxMode.Backward }));
        Assert.Null(Note("mlp", new ApproxOptions()));
    }
}
