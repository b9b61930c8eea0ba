namespace Frugal.Distributed.Stragglers;

/// <summary>
/// What <see cref="VirtualClockSimulation"/> measured for one N, beside the theory of <see cref="DropComputeTheory"/>
/// evaluated at the latency moments (μ, σ) of a whole micro-batch, injected sleep included. Step times include T_comm.
/// </summary>
/// <param name="Workers">N.</param>
/// <param name="LatencyMean">μ of a whole micro-batch's latency, sleep included (the model's, or the measured list's).</param>
/// <param name="LatencyStd">σ of the same.</param>
/// <param name="SyncStepSeconds">Mean synchronous step: max_n of the workers' compute + T_comm.</param>
/// <param name="TheoryExpectedMax">E[max_n T_n] (the paper's asymptotic formula) + T_comm.</param>
/// <param name="Threshold">τ: the given one, or the automatic choice.</param>
/// <param name="DropStepSeconds">Mean step with τ.</param>
/// <param name="TheoryDropStepSeconds">E[min(max_n T_n, τ)] + T_comm.</param>
/// <param name="DropRate">Share of the N·M·S micro-batches not completed.</param>
/// <param name="TheoryDropRate">r = 1 − E[M̃]/M.</param>
/// <param name="Speedup">Completed micro-batches per second with τ over the synchronous N·M per step.</param>
/// <param name="TheorySpeedup">S_eff(τ).</param>
/// <param name="Calibration">Automatic τ: what its simulated calibration predicted.</param>
public sealed record VirtualClockResult(
    int Workers, double LatencyMean, double LatencyStd,
    double SyncStepSeconds, double TheoryExpectedMax,
    double Threshold, double DropStepSeconds, double TheoryDropStepSeconds, double DropRate, double TheoryDropRate,
    double Speedup, double TheorySpeedup, AutoThreshold.Choice? Calibration);
