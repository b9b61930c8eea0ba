using Frugal.Distributed;
using Frugal.Distributed.Mpi;

namespace Frugal.Tests.Distributed;

/// <summary>
/// The MPI process group under a real mpirun (tests/Frugal.DistributedWorker runs one scenario per job): the
/// collectives against their definitions at 2 and 4 ranks, a started all-reduce progressing while the caller
/// computes, a null dereference staying a .NET exception, an MPI error code becoming an exception, and the failures that must end the job with a message
/// naming the rank and the call (a stuck rank, a killed rank, mismatched calls in the debug mode). Then the pure
/// parts, without MPI: the debug mode's comparison, the timeout setting, the missing-library message.
/// </summary>
[Collection(MpiCollection.Name)]
public class MpiProcessGroupTests
{
    static readonly TimeSpan Guard = TimeSpan.FromSeconds(90);
    static readonly string Worker = Mpirun.Beside("Frugal.DistributedWorker.dll");

    static Mpirun.Result Job(int ranks, string scenario)
    {
        var result = Mpirun.Run(ranks, Guard, Worker, scenario);
        Assert.False(result.TimedOut, $"mpirun -np {ranks} {scenario} hung past {Guard.TotalSeconds} s:\n{result.Output}");
        return result;
    }

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void Collectives_match_their_definitions(int ranks)
    {
        var job = Job(ranks, "collectives");
        Assert.True(job.ExitCode == 0, job.Output);
        Assert.Matches($@"collectives: Open MPI \d+\.\d+\.\d+, {ranks} ranks on 1 host: ok", job.Stdout);
    }

    [MpiFact]
    public void A_started_all_reduce_completes_while_the_caller_computes()
    {
        var job = Job(2, "overlap");
        Assert.True(job.ExitCode == 0, job.Output);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(job.Stdout, @"it completed after [1-9]\d* chunks").Count);
    }

    [MpiFact]
    public void A_null_dereference_after_init_is_a_NullReferenceException()
    {
        var job = Job(2, "nre");
        Assert.True(job.ExitCode == 0, job.Output);
        Assert.Contains("rank 1: caught NullReferenceException after MPI_Init; all_reduce still works", job.Stdout);
    }

    [MpiFact]
    public void A_stuck_rank_ends_the_job_after_the_timeout_naming_the_call()
    {
        var job = Job(4, "stuck");
        Assert.NotEqual(0, job.ExitCode);
        Assert.True(job.Elapsed < TimeSpan.FromSeconds(60), $"took {job.Elapsed}:\n{job.Output}");
        Assert.Matches(@"frugal: rank [023]: all_reduce #1 \(1000 elements\) waited 5 s for the other ranks; a rank is stuck or has died; ending the job",
                       job.Stderr);
    }

    [MpiFact]
    public void A_killed_rank_ends_the_job_naming_the_rank()
    {
        var job = Job(4, "kill");
        Assert.NotEqual(0, job.ExitCode);
        Assert.True(job.Elapsed < TimeSpan.FromSeconds(60), $"took {job.Elapsed}:\n{job.Output}");
        // mpirun: "mpirun noticed that process rank 1 with PID … on node … exited on signal 9 (Killed)."
        Assert.Matches(@"process rank 1 with PID \d+ on node \S+ exited on signal 9", job.Output);
    }

    [MpiFact]
    public void Mismatched_calls_fail_on_every_rank_naming_both_calls()
    {
        var job = Job(4, "mismatch");
        Assert.True(job.ExitCode == 0, job.Output);
        Assert.Contains("rank 0: collective #1 mismatch: this rank called all_reduce #1 of 3 4-byte elements, sum, " +
                        "rank 1 called all_reduce #1 of 4 4-byte elements, sum", job.Stderr);
        for (int r = 1; r < 4; r++)
            Assert.Contains($"rank {r}: collective #1 mismatch: this rank called all_reduce #1 of 4 4-byte elements, sum, " +
                            "rank 0 called all_reduce #1 of 3 4-byte elements, sum", job.Stderr);
    }

    [MpiFact]
    public void An_MPI_error_is_an_exception_naming_the_rank_and_the_call()
    {
        var job = Job(2, "truncate");
        Assert.True(job.ExitCode == 0, job.Output);
        Assert.Contains("truncate: rank 1: broadcast #1 (10 elements) of 2 ranks failed: MPI_ERR_TRUNCATE: message truncated", job.Stderr);
    }

    [MpiFact]
    public void A_program_that_never_disposes_the_group_still_finalises_at_exit()
    {
        var job = Job(2, "undisposed");
        Assert.True(job.ExitCode == 0, job.Output);
        // Without MPI_Finalize mpirun says the job "exited improperly" (and fails it).
        Assert.DoesNotContain("improperly", job.Output);
    }

    [Fact]
    public void The_debug_check_names_the_first_differing_rank()
    {
        var calls = new[] { 3L, 3, 4 }.Select(n => new CollectiveCall(CollectiveKind.AllReduce, 7, n, (int)ReduceOp.Sum, 4)).ToArray();
        var all = new long[CollectiveCall.Longs * calls.Length];
        for (int r = 0; r < calls.Length; r++) calls[r].Write(all.AsSpan(r * CollectiveCall.Longs));
        Assert.Equal(calls[2], CollectiveCall.Read(all.AsSpan(2 * CollectiveCall.Longs)));
        var e = Assert.Throws<DistributedException>(() => CollectiveCheck.Compare(calls[1], 1, all));
        Assert.Equal("rank 1: collective #7 mismatch: this rank called all_reduce #7 of 3 4-byte elements, sum, rank 2 called " +
                     "all_reduce #7 of 4 4-byte elements, sum; every rank must make the same calls in the same order", e.Message);
        CollectiveCheck.Compare(calls[0], 0, all.AsSpan(0, 2 * CollectiveCall.Longs));
    }

    [Fact]
    public void The_debug_check_matches_what_each_rank_sends_with_what_its_peer_expects()
    {
        var call = new CollectiveCall(CollectiveKind.AllToAllV, 2, 0, 0, 4);
        // Two ranks, each: send counts to ranks 0 and 1, then receive counts from ranks 0 and 1.
        int[] agreed = [1, 2, /**/ 1, 5, /**/ 5, 3, /**/ 2, 3];
        CollectiveCheck.CompareCounts(call, 0, 2, agreed);
        int[] wrong = [1, 2, /**/ 1, 5, /**/ 5, 3, /**/ 4, 3];
        var e = Assert.Throws<DistributedException>(() => CollectiveCheck.CompareCounts(call, 1, 2, wrong));
        Assert.Equal("rank 1: all_to_allv #2 (0 elements) mismatch: rank 0 sends 2 elements to rank 1, which expects 4", e.Message);

        var gather = call with { Kind = CollectiveKind.AllGatherV, Count = 5 };
        CollectiveCheck.CompareCounts(gather, 0, 2, [2, 3, 2, 3]);
        Assert.Contains("this rank's counts are [2, 3], rank 1's are [3, 2]",
            Assert.Throws<DistributedException>(() => CollectiveCheck.CompareCounts(gather, 0, 2, [2, 3, 3, 2])).Message);
    }

    [Fact]
    public void The_timeout_comes_from_FRUGAL_MPI_TIMEOUT_in_seconds()
    {
        Assert.Equal(MpiProcessGroup.DefaultTimeout, MpiProcessGroup.TimeoutFrom(null));
        Assert.Equal(MpiProcessGroup.DefaultTimeout, MpiProcessGroup.TimeoutFrom(""));
        Assert.Equal(TimeSpan.FromSeconds(2.5), MpiProcessGroup.TimeoutFrom("2.5"));
        foreach (var bad in new[] { "soon", "0", "-3", "NaN" })
            Assert.Equal($"distributed: FRUGAL_MPI_TIMEOUT is '{bad}'; give the collective timeout in seconds, e.g. 30",
                Assert.Throws<DistributedException>(() => MpiProcessGroup.TimeoutFrom(bad)).Message);
    }

    [Fact]
    public void A_missing_library_says_how_to_install_it()
    {
        var (handle, error) = MpiLibrary.Open("libmpi-absent.so.40");
        Assert.Equal(0, handle);
        Assert.Equal("distributed: libmpi.so.40 not found; install Open MPI: apt-get install openmpi-bin libopenmpi-dev", error);
    }

    [Fact]
    public void Outside_mpirun_the_environment_gives_one_process()
    {
        Assert.False(ProcessGroups.LaunchedByMpirun);   // the test host is not an mpirun rank
        using var g = ProcessGroups.FromEnvironment();
        Assert.IsType<SingleProcessGroup>(g);
    }
}
