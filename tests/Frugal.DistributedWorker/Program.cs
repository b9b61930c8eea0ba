using Frugal.Distributed;
using Frugal.Distributed.Mpi;

namespace Frugal.DistributedWorker;

/// <summary>
/// `mpirun -np N dotnet Frugal.DistributedWorker.dll SCENARIO`: every rank runs the scenario on one
/// <see cref="MpiProcessGroup"/> and exits 0 when it held. The failure scenarios (stuck, kill) end the job on
/// purpose; the tests read what mpirun and the ranks printed.
/// </summary>
static class Program
{
    static readonly string[] Scenarios = ["collectives", "overlap", "nre", "stuck", "kill", "mismatch", "bench", "undisposed", "truncate"];

    static int Main(string[] args)
    {
        if (args.Length != 1 || !Scenarios.Contains(args[0]))
        {
            Console.Error.WriteLine($"usage: mpirun -np N dotnet Frugal.DistributedWorker.dll {string.Join("|", Scenarios)}");
            return 2;
        }
        string scenario = args[0];
        var timeout = scenario switch { "stuck" => TimeSpan.FromSeconds(5), "kill" => TimeSpan.FromSeconds(20), _ => (TimeSpan?)null };
        var group = new MpiProcessGroup(timeout, check: scenario == "mismatch");
        // "undisposed" leaves MPI_Finalize to the group's process-exit handler.
        using var disposed = scenario == "undisposed" ? null : group;
        try
        {
            switch (scenario)
            {
                case "collectives": Collectives.Run(group); break;
                case "overlap": Overlap.Run(group); break;
                case "nre": Faults.NullReference(group); break;
                case "stuck": Faults.Stuck(group); break;
                case "kill": Faults.Kill(group); break;
                case "mismatch": Faults.Mismatch(group); break;
                case "undisposed": group.Barrier(); break;
                case "truncate": Faults.Truncate(group); break;
                default: Bench.Run(group); break;
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"worker: rank {group.Rank}: {scenario} failed: {e.Message}");
            return 1;
        }
    }
}
