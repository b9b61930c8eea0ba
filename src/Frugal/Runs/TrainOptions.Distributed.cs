using Frugal.Distributed;
using Frugal.Nn;
using Frugal.Options;

namespace Frugal.Runs;

/// <summary>
/// Data-parallel training of a run config (`mpirun -np N frugal train …`): the ranks come from the launch; these
/// sections say how gradients are accumulated and exchanged. The one place that builds the <see cref="DataParallel"/>.
/// </summary>
public sealed partial record TrainOptions
{
    /// <summary>Micro-batches and buckets (null: the defaults, one batch per step).</summary>
    public DataParallelOptions? DataParallel { get; init; }

    void ValidateDistributed()
    {
        if (DataParallel != null) OptionException.InSection("data_parallel", DataParallel.Validate);
    }

    /// <summary>Whether a one-process run still needs the data-parallel step (micro-batch accumulation).</summary>
    bool NeedsParallelStep => (DataParallel?.MicroBatches ?? 1) > 1;

    /// <summary>The data parallelism of these options over <paramref name="group"/>, or null for a single process
    /// that needs none.</summary>
    public DataParallel? CreateParallel(Module model, IProcessGroup group) =>
        group.Size == 1 && !NeedsParallelStep ? null : new DataParallel(model, group, DataParallel);
}
