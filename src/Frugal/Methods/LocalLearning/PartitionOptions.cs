using Frugal.Options;

namespace Frugal.Methods.LocalLearning;

/// <summary>How the partitions of <see cref="PartitionTraining"/> take turns on the batches.</summary>
public enum PartitionSchedule
{
    /// <summary>One thread: per batch, partition 1 to K in turn, each forward, local backward and step.</summary>
    Sequential,
    /// <summary>One thread per partition, bounded queues between them: partition p works on batch t while p + 1
    /// works on batch t − 1 (no backward locking, METHODS.md §4.4).</summary>
    Pipelined,
}

/// <summary>
/// Options of <see cref="PartitionTraining"/> (METHODS.md §4.4, PROPOSAL); the "partitions" section of a run config.
/// </summary>
public sealed record PartitionOptions
{
    /// <summary>K, the number of depth-wise partitions (consecutive groups of <see cref="ModelStages.Split"/>'s
    /// stages); 1 is end-to-end training, the number of stages is layer-wise.</summary>
    public int K { get; init; } = 2;
    public PartitionSchedule Schedule { get; init; } = PartitionSchedule.Sequential;
    /// <summary>Capacity of the bounded queue between two pipelined partitions, in batches: how far partition p may
    /// run ahead of p + 1. Each queued batch holds one activation tensor.</summary>
    public int QueueDepth { get; init; } = 2;
    /// <summary>Conv (or hidden linear) layers in each local head before its pooling and classifier
    /// (<see cref="AuxiliaryHead"/>; 0 = pool + linear, the cheapest).</summary>
    public int AuxDepth { get; init; }

    /// <summary>Rejects impossible settings, naming the key (K against the model is checked where the model is known).</summary>
    public PartitionOptions Validate()
    {
        OptionException.Require(K >= 1, "k", $"must be at least 1 (1 = end-to-end), got {K}");
        OptionException.Require(Enum.IsDefined(Schedule), "schedule", $"must be one of {string.Join(", ", EnumNames<PartitionSchedule>.All)}");
        OptionException.Require(QueueDepth >= 1, "queue_depth", $"must be at least 1 batch, got {QueueDepth}");
        OptionException.Require(AuxDepth >= 0, "aux_depth", $"must be ≥ 0 (0 = pool + linear), got {AuxDepth}");
        return this;
    }
}
