using Frugal.Options;

namespace Frugal.Distributed;

/// <summary>
/// Options of <see cref="DataParallel"/>; the "data_parallel" section of a run config. The ranks come from the launch
/// (`mpirun -np N`), not from here.
/// </summary>
public sealed record DataParallelOptions
{
    /// <summary>Micro-batches accumulated per optimisation step (each of the run's batch size, on every rank).</summary>
    public int MicroBatches { get; init; } = 1;
    /// <summary>Gradients are sent in buckets of about this many MiB (PyTorch DDP's bucket_cap_mb).</summary>
    public double BucketMegabytes { get; init; } = 4;
    /// <summary>Send each bucket as soon as backward has produced it, while backward computes the rest (exact fp32
    /// exchange, one micro-batch per step, no DropCompute: otherwise the exchange starts after the step's compute).</summary>
    public bool Overlap { get; init; } = true;

    public DataParallelOptions Validate()
    {
        OptionException.Require(MicroBatches >= 1, "micro_batches", $"must be at least 1, got {MicroBatches}");
        OptionException.Require(BucketMegabytes > 0 && BucketMegabytes <= 1024, "bucket_megabytes", $"must be in (0, 1024], got {BucketMegabytes}");
        return this;
    }
}
