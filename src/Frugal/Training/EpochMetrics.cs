using System.Text.Json.Serialization;

namespace Frugal.Training;

/// <summary>One line of metrics.jsonl. Methods add their own figures to <see cref="Extra"/>.</summary>
public sealed record EpochMetrics
{
    [JsonPropertyName("epoch")] public int Epoch { get; init; }
    [JsonPropertyName("train_loss")] public double TrainLoss { get; init; }
    [JsonPropertyName("test_loss")] public double TestLoss { get; init; }
    [JsonPropertyName("test_accuracy")] public double TestAccuracy { get; init; }
    [JsonPropertyName("samples_per_second")] public double SamplesPerSecond { get; init; }
    /// <summary>Wall time of the training part of the epoch (evaluation excluded, as in the PyTorch reference).</summary>
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("eval_seconds")] public double EvalSeconds { get; init; }
    [JsonPropertyName("learning_rate")] public double LearningRate { get; init; }
    /// <summary>Training memory: the epoch's peak resident size during training above the run's baseline (data and
    /// model loaded), in MiB (<see cref="Diagnostics.PeakMemory"/>); 0 where the OS does not say.</summary>
    [JsonPropertyName("peak_memory_mb")] public double PeakMemoryMb { get; init; }
    /// <summary>The epoch's peak resident size of the whole process during training, in MiB.</summary>
    [JsonPropertyName("peak_rss_mb")] public double PeakRssMb { get; init; }
    [JsonExtensionData] public Dictionary<string, object>? Extra { get; init; }
}
