namespace Frugal.Distributed;

/// <summary>
/// A collective that failed or could not complete: the message names this rank, the call (with its sequence number
/// and size) and what to do. Under MPI a timed-out or failed collective ends the whole job (MPI_Abort) right after
/// this is reported, so no rank is left waiting.
/// </summary>
public sealed class DistributedException(string message, Exception? inner = null) : Exception(message, inner);
