using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tests.Training;

namespace Frugal.Tests.Distributed;

/// <summary>
/// A run config's data-parallel sections through <see cref="RunBuilder"/>, ranks as threads: every compressor of
/// --compress is built, sends what it claims (wire bytes against the exact fp32 exchange measured alongside), keeps
/// the ranks' weights identical and trains; bad sections are refused by key.
/// </summary>
[Collection(DefaultGeneratorCollection.Name)]
public class DistributedRunTests
{
    static readonly Frugal.Data.ImageDataset Train = SyntheticImages.Make(256, 4, 1), Test = SyntheticImages.Make(64, 4, 2);

    static (IReadOnlyList<Frugal.Training.EpochMetrics> Metrics, float[][] Weights)[] Fit(int ranks, TrainOptions o)
    {
        var result = new (IReadOnlyList<Frugal.Training.EpochMetrics>, float[][])[ranks];
        InProcessGroup.Run(ranks, g =>
        {
            var trainer = RunBuilder.Build(o, Train, Test, g);
            var metrics = trainer.Run(o.Epochs);
            result[g.Rank] = (metrics, trainer.Model.StateDict().Select(p => p.Value.ToArray()).ToArray());
        });
        return result;
    }

    static readonly TrainOptions Mlp = new()
    {
        Model = "mlp", ModelOptions = new() { Hidden = [64, 64] }, Epochs = 2, BatchSize = 16, LearningRate = 0.05,
    };

    [Theory]
    [InlineData("fp16", 0.5)]
    [InlineData("fp8", 0.25)]
    [InlineData("fp6", 0.1875)]
    [InlineData("prune", 0.5)]
    [InlineData("topk-crs", 0.55)]
    [InlineData("powersgd", 0.2)]
    [InlineData("entropy", 0.15)]
    public void Each_compressor_sends_less_keeps_the_ranks_identical_and_trains(string compressor, double atMost)
    {
        var exact = Fit(2, Mlp);
        // Top-k CRS samples every layer here: by default the first and the classifier stay exact, which in this mlp
        // leaves only the 64×64 layer to sample.
        var compressed = Fit(2, Mlp with
        {
            Exchange = new() { Compressor = compressor, TopKCrs = compressor == "topk-crs" ? new() { Layers = "all" } : null },
        });
        for (int t = 0; t < compressed[0].Weights.Length; t++) Assert.Equal(compressed[0].Weights[t], compressed[1].Weights[t]);
        double Bytes((IReadOnlyList<Frugal.Training.EpochMetrics> Metrics, float[][]) run) => Convert.ToDouble(run.Metrics[^1].Extra!["wire_bytes_per_step"]);
        double ratio = Bytes(compressed[0]) / Bytes(exact[0]);
        Assert.True(ratio > 0.01 && ratio <= atMost * 1.02, $"{compressor}: wire bytes {ratio:F3} of the exact exchange's, expected ≤ {atMost}");
        // It still learns: the synthetic classes are easy (four classes: chance is 25%).
        Assert.True(compressed[0].Metrics[^1].TestAccuracy > 0.5, $"{compressor}: test accuracy {compressed[0].Metrics[^1].TestAccuracy}");
    }

    [Theory]
    [InlineData("""{"compressor":"fp9"}""", "exchange.compressor")]
    [InlineData("""{"compressor":"fp8","powersgd":{"rank":2}}""", "exchange.powersgd")]
    [InlineData("""{"compressor":"powersgd","powersgd":{"rank":0}}""", "exchange.powersgd.rank")]
    [InlineData("""{"compressor":"fp6","low_bit":{"format":"fp4"}}""", "exchange.low_bit.format")]
    [InlineData("""{"compressor":"entropy","entropy":{"base_bits":0}}""", "exchange.entropy.base_bits")]
    [InlineData("""{"compressor":"fp8","entropy":{}}""", "exchange.entropy")]
    public void Bad_exchange_sections_are_refused_by_key(string section, string key)
    {
        var e = Assert.Throws<InvalidDataException>(() => TrainOptions.FromJson($$"""{"exchange":{{section}}}""", "run.json"));
        Assert.Contains($"run.json: {key}:", e.Message);
    }

    [Fact]
    public void Automatic_drop_compute_needs_six_micro_batches_and_says_so_under_their_key()
    {
        var e = Assert.Throws<InvalidDataException>(() => TrainOptions.FromJson("""{"drop_compute":{}}""", "run.json"));
        Assert.Contains("run.json: data_parallel.micro_batches:", e.Message);
        Assert.Contains("at least 6", e.Message);
    }
}
