using System.Runtime;

namespace Frugal.Diagnostics;

/// <summary>
/// Runs a piece of work until the code it runs is what a long run executes. The runtime first compiles a method
/// unoptimised and recompiles it fully optimised, in the background, only after 30 calls, so a timing taken within
/// the first rounds measures tier-0 loops (the cnn's forward BatchNorm+ReLU read 26–29 ms/step after 3 steps instead
/// of 7–9). Settled means: at least the minimum rounds ran, then no method was compiled for <c>quiet</c> rounds.
/// </summary>
public static class JitWarmUp
{
    /// <summary>How a warm-up ended: the rounds it ran, and whether the runtime had stopped compiling.</summary>
    public readonly record struct Outcome(int Rounds, int QuietRounds, bool Settled);

    /// <param name="round">One round of the work to be timed later.</param>
    /// <param name="minRounds">Rounds to run in any case (30 calls promote a method, so code called once a round needs 30).</param>
    /// <param name="quietRounds">Rounds without a newly compiled method that count as settled.</param>
    /// <param name="maxRounds">Rounds after which it stops even if the runtime still compiles.</param>
    public static Outcome Run(Action round, int minRounds, int quietRounds, int maxRounds)
    {
        if (minRounds < 0 || quietRounds < 1 || maxRounds < Math.Max(minRounds, 1))
            throw new ArgumentException($"jit_warm_up: need 0 ≤ min ({minRounds}), 1 ≤ quiet ({quietRounds}), max ({maxRounds}) ≥ min and ≥ 1");
        long compiled = JitInfo.GetCompiledMethodCount();
        int rounds = 0, quiet = 0;
        while (rounds < minRounds || (quiet < quietRounds && rounds < maxRounds))
        {
            round();
            rounds++;
            long now = JitInfo.GetCompiledMethodCount();
            quiet = now == compiled ? quiet + 1 : 0;
            compiled = now;
        }
        return new Outcome(rounds, quiet, quiet >= quietRounds);
    }
}
