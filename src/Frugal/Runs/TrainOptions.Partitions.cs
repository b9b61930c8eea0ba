using Frugal.Methods.LocalLearning;
using Frugal.Options;

namespace Frugal.Runs;

/// <summary>
/// Partition-wise training of a run config (METHODS.md §4.4, PROPOSAL): with this section <see cref="RunBuilder.BuildPartitions(TrainOptions, Distributed.IProcessGroup?)"/>
/// builds a <see cref="PartitionTraining"/> instead of a Trainer. It replaces the training loop, so it takes no
/// method section and no data parallelism.
/// </summary>
public sealed partial record TrainOptions
{
    /// <summary>K partitions with local heads, and their schedule; null = end-to-end training.</summary>
    public PartitionOptions? Partitions { get; init; }

    void ValidatePartitions()
    {
        if (Partitions == null) return;
        OptionException.InSection("partitions", Partitions.Validate);
        (object? Section, string Key)[] others =
            [(GradPrune, "grad_prune"), (GradFormat, "grad_format"), (Approx, "approx"), (Kure, "kure"), (Qat, "qat"),
             (DataParallel, "data_parallel"), (Exchange, "exchange"), (DropCompute, "drop_compute"), (Layerwise, "layerwise"),
             (EntropyReport, "entropy_report"), (LogGradNorm ? true : null, "log_grad_norm")];
        foreach (var (section, key) in others)
            OptionException.Require(section == null, "partitions", $"does not combine with {key} (partition-wise training has its own loop); leave one of them out");
    }
}
