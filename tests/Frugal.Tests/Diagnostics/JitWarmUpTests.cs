using System.Linq.Expressions;
using Frugal.Diagnostics;

namespace Frugal.Tests.Diagnostics;

public class JitWarmUpTests
{
    [Fact]
    public void Work_that_compiles_nothing_new_settles_after_the_minimum_and_the_quiet_rounds()
    {
        int calls = 0;
        void Round() => calls++;
        Round();   // compiled before the warm-up starts
        var w = JitWarmUp.Run(Round, minRounds: 4, quietRounds: 3, maxRounds: 50);
        Assert.True(w.Settled);
        Assert.Equal(w.Rounds + 1, calls);
        Assert.InRange(w.Rounds, 4, 50);
        Assert.True(w.QuietRounds >= 3);
    }

    [Fact]
    public void Work_that_keeps_compiling_stops_at_the_maximum_and_says_it_did_not_settle()
    {
        int rounds = 0;
        // A new compiled lambda every round: the runtime never stops compiling.
        void Round() { var f = Expression.Lambda<Func<int>>(Expression.Constant(rounds++)).Compile(); f(); }
        var w = JitWarmUp.Run(Round, minRounds: 2, quietRounds: 2, maxRounds: 6);
        Assert.False(w.Settled);
        Assert.Equal(6, w.Rounds);
        Assert.Equal(6, rounds);
    }

    [Theory]
    [InlineData(-1, 2, 5)]
    [InlineData(3, 0, 5)]
    [InlineData(6, 2, 5)]
    [InlineData(0, 1, 0)]
    public void Impossible_limits_are_refused(int min, int quiet, int max)
    {
        var e = Assert.Throws<ArgumentException>(() => JitWarmUp.Run(() => { }, min, quiet, max));
        Assert.Contains("jit_warm_up", e.Message);
    }
}
