using Frugal.Options;

namespace Frugal.Distributed.Compression;

/// <summary>
/// Options of <see cref="PowerSgdReduce"/> (--compress powersgd; Vogels, Karimireddy, Jaggi, "PowerSGD: Practical
/// Low-Rank Gradient Compression for Distributed Optimization", NeurIPS 2019, arXiv 1905.13727).
/// </summary>
public sealed record PowerSgdOptions
{
    /// <summary>Rank r of the approximation M ≈ P·Qᵀ. The paper's default: rank 2 matched full-precision SGD on
    /// ResNet-18/CIFAR-10 while sending r(n + m) instead of n·m floats per matrix.</summary>
    public int Rank { get; init; } = 2;
    /// <summary>Reduces of a bucket that use the exact fp32 all-reduce before compression starts (no error is
    /// accumulated meanwhile). 0 = compress from the first step, as in the paper; PyTorch's hook suggests ~1000 on
    /// large models, whose first steps are sensitive.</summary>
    public int StartIteration { get; init; }
    /// <summary>Start each step's power iteration from the previous step's Q (the paper's warm start: one iteration
    /// per step then tracks the gradient's dominant subspace); false draws a fresh random Q every step.</summary>
    public bool WarmStart { get; init; } = true;
    /// <summary>Add what the last steps' exchanges missed to this step's gradient (error feedback, Alg. 2 of the
    /// paper); without it the compressor is biased and SGD loses accuracy.</summary>
    public bool ErrorFeedback { get; init; } = true;

    /// <summary>Rejects impossible settings, naming the key.</summary>
    public PowerSgdOptions Validate()
    {
        OptionException.Require(Rank >= 1, "rank", $"must be at least 1, got {Rank}");
        OptionException.Require(StartIteration >= 0, "start_iteration", $"must be 0 or a positive step count, got {StartIteration}");
        return this;
    }
}
