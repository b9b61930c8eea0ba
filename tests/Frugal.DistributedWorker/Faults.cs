using System.Diagnostics;
using System.Runtime.CompilerServices;
using Frugal.Distributed;

namespace Frugal.DistributedWorker;

/// <summary>The ways a job goes wrong, each of which must end the job with a clear message (or, for a null
/// dereference, stay an ordinary exception).</summary>
static class Faults
{
    sealed class Box { public int Value = 1; }

    /// <summary>A null dereference after MPI_Init is .NET's NullReferenceException (SIGSEGV caught by the runtime),
    /// not Open MPI's backtrace-and-abort; MPI still works after it.</summary>
    public static void NullReference(IProcessGroup g)
    {
        bool caught = false;
        try { _ = Read(null); }
        catch (NullReferenceException) { caught = true; }
        if (!caught) throw new InvalidOperationException("nre: no NullReferenceException");
        var x = new[] { 1 };
        g.AllReduce<int>(x, ReduceOp.Sum);
        if (x[0] != g.Size) throw new InvalidOperationException($"nre: all_reduce after the exception gave {x[0]}");
        Console.WriteLine($"nre: rank {g.Rank}: caught NullReferenceException after MPI_Init; all_reduce still works");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static int Read(Box? box) => box!.Value;

    /// <summary>Rank 1 stops answering; the others' all-reduce must time out and end the job.</summary>
    public static void Stuck(IProcessGroup g)
    {
        if (g.Rank == 1) Thread.Sleep(TimeSpan.FromSeconds(600));
        g.AllReduce<float>(new float[1000], ReduceOp.Sum);
        throw new InvalidOperationException("stuck: the all_reduce returned although rank 1 never joined it");
    }

    /// <summary>Rank 1 dies without a word (SIGKILL); mpirun must end the job.</summary>
    public static void Kill(IProcessGroup g)
    {
        g.Barrier();
        if (g.Rank == 1) Process.GetCurrentProcess().Kill();
        g.AllReduce<float>(new float[1000], ReduceOp.Sum);
        throw new InvalidOperationException("kill: the all_reduce returned although rank 1 was killed");
    }

    /// <summary>In the debug mode, rank 0 reduces 3 elements and the others 4: every rank must fail naming both
    /// calls, before any data moves, and the group must still work afterwards.</summary>
    public static void Mismatch(IProcessGroup g)
    {
        try
        {
            g.AllReduce<float>(new float[g.Rank == 0 ? 3 : 4], ReduceOp.Sum);
            throw new InvalidOperationException("mismatch: the mismatched all_reduce was not detected");
        }
        catch (DistributedException e) { Console.Error.WriteLine($"mismatch: {e.Message}"); }
        g.Barrier();
    }

    /// <summary>Outside the debug mode, rank 0 broadcasts 1000 elements into the others' 10: MPI's truncation error
    /// must come back as an exception naming the rank and the call.</summary>
    public static void Truncate(IProcessGroup g)
    {
        try
        {
            g.Broadcast<float>(new float[g.Rank == 0 ? 1000 : 10], 0);
            if (g.Rank != 0) throw new InvalidOperationException("truncate: the truncated broadcast reported no error");
        }
        catch (DistributedException e) { Console.Error.WriteLine($"truncate: {e.Message}"); }
    }
}
