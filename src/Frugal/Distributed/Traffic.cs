namespace Frugal.Distributed;

/// <summary>
/// What one rank has handed to collectives and, by the bandwidth-optimal (ring) algorithms' formulas, what it puts
/// on the wire: all-reduce 2(N−1)/N·b, all-gather(v) the bytes of the other ranks' blocks it forwards (total − own),
/// all-to-all(v) the blocks it sends to others, broadcast b from the root and (N−1)/N·b from the others (scatter +
/// all-gather). Wire bytes are what a link between machines carries; on one machine the shared-memory transport
/// moves the same amount through memory. Counters only grow; take differences per step.
/// </summary>
public sealed class Traffic
{
    long _calls, _payload, _wire;

    public long Calls => Interlocked.Read(ref _calls);
    /// <summary>Bytes of this rank's send buffers.</summary>
    public long PayloadBytes => Interlocked.Read(ref _payload);
    /// <summary>Bytes this rank sends by the ring algorithms (see the class summary).</summary>
    public long WireBytes => Interlocked.Read(ref _wire);

    public void Add(long payloadBytes, double wireBytes)
    {
        Interlocked.Increment(ref _calls);
        Interlocked.Add(ref _payload, payloadBytes);
        Interlocked.Add(ref _wire, (long)Math.Round(wireBytes));
    }

    public static double AllReduceWire(long bytes, int size) => size <= 1 ? 0 : 2.0 * (size - 1) / size * bytes;
    public static double BroadcastWire(long bytes, int size, bool root) =>
        size <= 1 ? 0 : root ? bytes : (double)(size - 1) / size * bytes;
}
