using Frugal.Distributed.Stragglers;

namespace Frugal.Tests.Distributed.Stragglers;

/// <summary>The closed forms of METHODS.md §3 at points where the answer is known.</summary>
public class DropComputeTheoryTests
{
    [Fact]
    public void Expected_max_of_normals()
    {
        Assert.Equal(12 * 0.05, DropComputeTheory.ExpectedMax(1, 12, 0.05, 0.01), 12);
        Assert.Equal(12 * 0.05, DropComputeTheory.ExpectedCappedMax(1, 12, 0.05, 0.01), 9);
        // E[max of two standard normals] = 1/√π; of N = 1024 about 3.25.
        Assert.Equal(1 / Math.Sqrt(Math.PI), DropComputeTheory.ExpectedCappedMax(2, 1, 0, 1), 6);
        double exact = DropComputeTheory.ExpectedCappedMax(1024, 1, 0, 1);
        Assert.InRange(exact, 3.24, 3.26);
        // The paper's asymptotic formula is within a few % of it at large N.
        Assert.InRange(DropComputeTheory.ExpectedMax(1024, 1, 0, 1) / exact, 0.95, 1.0);
        // The √M σ scaling.
        Assert.Equal(12 * 0.05 + 0.01 * Math.Sqrt(12) * DropComputeTheory.ExpectedMax(64, 1, 0, 1), DropComputeTheory.ExpectedMax(64, 12, 0.05, 0.01), 12);
    }

    [Fact]
    public void Completed_micro_batches_drop_rate_and_speedup()
    {
        Assert.Equal(12, DropComputeTheory.ExpectedCompleted(12, 0.05, 0.01, double.PositiveInfinity), 12);
        Assert.Equal(0, DropComputeTheory.ExpectedCompleted(12, 0.05, 0.01, 0), 6);
        // τ at the mean of the 6th cumulative time: half of the 6th completes, nearly all earlier ones, few later ones.
        double half = DropComputeTheory.ExpectedCompleted(12, 0.05, 0.005, 0.3);
        Assert.InRange(half, 5.4, 5.6);
        Assert.Equal(1 - half / 12, DropComputeTheory.DropRate(12, 0.05, 0.005, 0.3), 12);
        Assert.Equal(1, DropComputeTheory.EffectiveSpeedup(256, 12, 0.05, 0.01, double.PositiveInfinity, 0.02), 9);
        // A τ just below the expected synchronous step gains with N (the paper's point): the same τ, more workers.
        double tau = 12 * 0.05 + 0.01 * Math.Sqrt(12);
        Assert.True(DropComputeTheory.EffectiveSpeedup(1024, 12, 0.05, 0.01, tau) > DropComputeTheory.EffectiveSpeedup(16, 12, 0.05, 0.01, tau));
        Assert.True(DropComputeTheory.EffectiveSpeedup(1024, 12, 0.05, 0.01, tau) > 1);
    }
}
