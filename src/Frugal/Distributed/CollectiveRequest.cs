namespace Frugal.Distributed;

/// <summary>
/// A collective started by <see cref="IProcessGroup.StartAllReduce"/>. Until <see cref="Wait"/> returns, the buffer
/// belongs to the collective: neither read nor write it. Requests complete in the order they were started.
/// </summary>
public abstract class CollectiveRequest
{
    /// <summary>Blocks until the result is in the buffer; rethrows the collective's failure.</summary>
    public abstract void Wait();

    /// <summary>A request that was already completed when it was returned.</summary>
    public static CollectiveRequest Completed { get; } = new Done();

    sealed class Done : CollectiveRequest { public override void Wait() { } }
}
