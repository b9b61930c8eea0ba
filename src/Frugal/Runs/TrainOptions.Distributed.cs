using Frugal.Distributed;
using Frugal.Distributed.Compression;
using Frugal.Distributed.Stragglers;
using Frugal.Nn;
using Frugal.Options;

namespace Frugal.Runs;

/// <summary>
/// Data-parallel training of a run config (`mpirun -np N frugal train …`): the ranks come from the launch; these
/// sections say how gradients are accumulated and exchanged and when a worker stops computing. The one place that
/// builds the <see cref="DataParallel"/>.
/// </summary>
public sealed partial record TrainOptions
{
    /// <summary>Micro-batches and buckets (null: the defaults, one batch per step).</summary>
    public DataParallelOptions? DataParallel { get; init; }
    /// <summary>How gradients cross the network (null: exact fp32 all-reduce).</summary>
    public GradientExchangeOptions? Exchange { get; init; }
    /// <summary>DropCompute (METHODS.md §3) and straggler injection; null = off.</summary>
    public DropComputeOptions? DropCompute { get; init; }

    int MicroBatches => DataParallel?.MicroBatches ?? 1;

    void ValidateDistributed()
    {
        if (DataParallel != null) OptionException.InSection("data_parallel", DataParallel.Validate);
        if (Exchange != null) OptionException.InSection("exchange", Exchange.Validate);
        if (DropCompute == null) return;
        try { OptionException.InSection("drop_compute", () => DropCompute.Validate(MicroBatches)); }
        catch (OptionException e) when (e.Key == "drop_compute.micro_batches") { throw new OptionException("data_parallel.micro_batches", e.Reason); }
    }

    /// <summary>The data parallelism of these options over <paramref name="group"/>, or null for a single process
    /// that needs none (one batch per step, no DropCompute).</summary>
    public DataParallel? CreateParallel(Module model, IProcessGroup group)
    {
        if (group.Size == 1 && MicroBatches == 1 && DropCompute == null) return null;
        var drop = DropCompute == null ? null : new DropCompute(DropCompute, MicroBatches, group, Seed);
        var compressor = Exchange?.Create(model, Seed, Approx);
        return new DataParallel(model, group, DataParallel, compressor, drop);
    }
}
