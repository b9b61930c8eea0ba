using Frugal.Distributed.Stragglers;

namespace Frugal.Tests.Distributed.Stragglers;

/// <summary>A worker on a virtual clock: drives a <see cref="DropCompute"/> through steps whose micro-batches "take"
/// given compute times (a third forward, two thirds backward), so every test is exact and takes no time.</summary>
sealed class VirtualWorker
{
    public double Now;
    public const double ForwardShare = 1.0 / 3;

    public double Clock() => Now;
    public void Sleep(double seconds) => Now += seconds;

    public DropCompute Create(DropComputeOptions options, int microBatches, Frugal.Distributed.IProcessGroup group, ulong seed = 0) =>
        new(options, microBatches, group, seed, Clock, Sleep);

    /// <summary>Runs one step of the given compute times; returns its compute seconds (sleeps included).</summary>
    public double Step(DropCompute dc, IReadOnlyList<double> compute)
    {
        double start = Now;
        dc.BeginStep();
        for (int m = 0; m < compute.Count && dc.BeforeMicroBatch(); m++)
        {
            Now += ForwardShare * compute[m];
            if (!dc.BeforeBackward()) break;
            Now += (1 - ForwardShare) * compute[m];
            dc.AfterMicroBatch();
        }
        double seconds = Now - start;
        dc.EndStep(seconds);
        return seconds;
    }
}
