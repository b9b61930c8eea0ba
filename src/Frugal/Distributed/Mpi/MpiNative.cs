using System.Runtime.InteropServices;
using System.Text;

namespace Frugal.Distributed.Mpi;

/// <summary>
/// The part of Open MPI's C API the process group uses (mpi.h of Open MPI 4.1). Handles (MPI_Comm, MPI_Datatype,
/// MPI_Op, MPI_Errhandler) are pointers to the library's predefined objects, i.e. the addresses of its exported
/// globals (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>, <c>ompi_mpi_op_sum</c>, …), resolved once on first use.
/// Every call is made from the process group's one communication thread.
/// </summary>
static unsafe class MpiNative
{
    const string Lib = MpiLibrary.Import;
    public const int Success = 0, ThreadFunneled = 1;
    /// <summary>MPI_IN_PLACE in Open MPI's mpi.h.</summary>
    public static readonly nint InPlace = 1;

    public static readonly nint CommWorld = MpiLibrary.Export("ompi_mpi_comm_world");
    public static readonly nint ErrorsReturn = MpiLibrary.Export("ompi_mpi_errors_return");
    public static readonly nint MpiFloat = MpiLibrary.Export("ompi_mpi_float");
    public static readonly nint MpiDouble = MpiLibrary.Export("ompi_mpi_double");
    public static readonly nint MpiInt32 = MpiLibrary.Export("ompi_mpi_int32_t");
    public static readonly nint MpiInt64 = MpiLibrary.Export("ompi_mpi_int64_t");
    public static readonly nint MpiUInt16 = MpiLibrary.Export("ompi_mpi_uint16_t");
    public static readonly nint MpiByte = MpiLibrary.Export("ompi_mpi_byte");
    public static readonly nint OpSum = MpiLibrary.Export("ompi_mpi_op_sum");
    public static readonly nint OpMax = MpiLibrary.Export("ompi_mpi_op_max");
    public static readonly nint OpMin = MpiLibrary.Export("ompi_mpi_op_min");

    /// <summary>The datatype that moves <typeparamref name="T"/> unchanged: one of its size (halves and other 2-byte
    /// payloads travel as uint16); null for other sizes, which travel as bytes.</summary>
    public static nint? CopyType<T>() where T : unmanaged => sizeof(T) switch
    {
        1 => MpiByte, 2 => MpiUInt16, 4 => MpiInt32, 8 => MpiInt64, _ => null,
    };

    /// <summary>The datatype MPI reduces arithmetically, for the four types all-reduce supports.</summary>
    public static nint? ReduceType<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? MpiFloat : typeof(T) == typeof(double) ? MpiDouble
        : typeof(T) == typeof(int) ? MpiInt32 : typeof(T) == typeof(long) ? MpiInt64 : null;

    public static nint Op(ReduceOp op) => op switch { ReduceOp.Sum => OpSum, ReduceOp.Max => OpMax, _ => OpMin };

    /// <summary>MPI_Error_string: Open MPI's one-line description of an error code.</summary>
    public static string ErrorString(int code)
    {
        var text = stackalloc byte[512];
        int length = 0;
        return MPI_Error_string(code, text, &length) == Success ? Encoding.ASCII.GetString(text, length) : $"MPI error {code}";
    }

    /// <summary>A string-returning query (MPI_Get_library_version, MPI_Get_processor_name) into a 512-byte buffer
    /// (both limits are 256 in Open MPI 4.1).</summary>
    public static string Text(delegate* managed<byte*, int*, int> query)
    {
        var text = stackalloc byte[512];
        int length = 0;
        int code = query(text, &length);
        return code == Success ? Encoding.ASCII.GetString(text, length).TrimEnd('\0', '\n', ' ') : "";
    }

    [DllImport(Lib)] public static extern int MPI_Init_thread(int* argc, byte*** argv, int required, int* provided);
    [DllImport(Lib)] public static extern int MPI_Finalize();
    [DllImport(Lib)] public static extern int MPI_Abort(nint comm, int code);
    [DllImport(Lib)] public static extern int MPI_Comm_rank(nint comm, int* rank);
    [DllImport(Lib)] public static extern int MPI_Comm_size(nint comm, int* size);
    [DllImport(Lib)] public static extern int MPI_Comm_set_errhandler(nint comm, nint handler);
    [DllImport(Lib)] public static extern int MPI_Error_string(int code, byte* text, int* length);
    [DllImport(Lib)] public static extern int MPI_Get_library_version(byte* text, int* length);
    [DllImport(Lib)] public static extern int MPI_Get_processor_name(byte* text, int* length);
    [DllImport(Lib)] public static extern int MPI_Test(nint* request, int* done, void* status);

    [DllImport(Lib)] public static extern int MPI_Ibarrier(nint comm, nint* request);
    [DllImport(Lib)] public static extern int MPI_Ibcast(void* data, int count, nint type, int root, nint comm, nint* request);
    [DllImport(Lib)] public static extern int MPI_Iallreduce(void* send, void* receive, int count, nint type, nint op, nint comm, nint* request);
    [DllImport(Lib)] public static extern int MPI_Iallgather(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType,
        nint comm, nint* request);
    [DllImport(Lib)] public static extern int MPI_Iallgatherv(void* send, int sendCount, nint sendType, void* receive, int* receiveCounts, int* offsets,
        nint receiveType, nint comm, nint* request);
    [DllImport(Lib)] public static extern int MPI_Ialltoall(void* send, int sendCount, nint sendType, void* receive, int receiveCount, nint receiveType,
        nint comm, nint* request);
    [DllImport(Lib)] public static extern int MPI_Ialltoallv(void* send, int* sendCounts, int* sendOffsets, nint sendType, void* receive,
        int* receiveCounts, int* receiveOffsets, nint receiveType, nint comm, nint* request);
}
