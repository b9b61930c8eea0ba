using System.Runtime.InteropServices;

namespace Frugal.Distributed.Mpi;

/// <summary>
/// The Open MPI and UCX settings Frugal chooses before MPI_Init, each only where the user has not set it. They go
/// into the native environment the libraries read (setenv): <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// only changes .NET's own copy on Unix.
/// </summary>
static class MpiDefaults
{
    public static void Apply()
    {
        // .NET turns a SIGSEGV in managed code into a catchable NullReferenceException (SIGFPE: DivideByZeroException)
        // with the handlers it installs at start-up. Open MPI's backtrace handlers (opal_signal: SIGABRT, SIGBUS, SIGFPE,
        // SIGSEGV) leave an installed handler alone (and a NullReferenceException was caught here with it at its
        // default), so emptying it only guards against builds that do not. UCX, which Open MPI's pml ucx loads on
        // InfiniBand and RoCE machines, replaces them (openucx/ucx#3337, the JVM's case): UCX_ERROR_SIGNALS="" is its
        // documented way out.
        setenv("OMPI_MCA_opal_signal", "", 0);
        setenv("UCX_ERROR_SIGNALS", "", 0);
        // The ring all-reduce (2(N−1)/N·b per rank, Traffic's formula) for MPI_Iallreduce, which every all-reduce
        // uses: libnbc's default choice for large buffers ran a 16 MB fp32 all-reduce of 2 ranks 3× slower here.
        setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "ring", 0);
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    static extern int setenv(string name, string value, int overwrite);
}
