using Frugal.Distributed.Mpi;

namespace Frugal.Distributed;

/// <summary>The process group a program gets from how it was started: the mpirun job's ranks, or one process.</summary>
public static class ProcessGroups
{
    /// <summary>Whether Open MPI's mpirun started this process (it sets OMPI_COMM_WORLD_SIZE for every rank).</summary>
    public static bool LaunchedByMpirun => Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") != null;

    /// <summary>An <see cref="MpiProcessGroup"/> under mpirun (call once per process), else a <see cref="SingleProcessGroup"/>.</summary>
    /// <param name="timeout">The MPI collective timeout; default FRUGAL_MPI_TIMEOUT or 30 s.</param>
    public static IProcessGroup FromEnvironment(TimeSpan? timeout = null) =>
        LaunchedByMpirun ? new MpiProcessGroup(timeout) : new SingleProcessGroup();
}
