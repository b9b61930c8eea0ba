namespace Frugal.Methods.Approximate;

/// <summary>
/// What an approximate layer actually ran since the last reset: the k of every sampled dimension (mean over calls)
/// and the multiply-adds of its forward and backward products, executed and exact. The training method sums these
/// into metrics.jsonl, so a run whose sampling silently stopped shows k = n and a ratio of 1.
/// </summary>
public sealed class ApproxLayerStats
{
    /// <summary>Mean k over calls of one sampled dimension of size N.</summary>
    public sealed class KCount
    {
        public long Calls { get; private set; }
        public double SumK { get; private set; }
        /// <summary>The dimension's size at the last call.</summary>
        public int N { get; private set; }
        public double MeanK => Calls == 0 ? double.NaN : SumK / Calls;

        public void Add(int k, int n) { Calls++; SumK += k; N = n; }
        internal void Reset() { Calls = 0; SumK = 0; }
    }

    /// <summary>Input features/channels kept in the forward pass (forward and hybrid modes).</summary>
    public KCount Forward { get; } = new();
    /// <summary>Output features/channels kept for dX (backward and hybrid).</summary>
    public KCount BackwardInput { get; } = new();
    /// <summary>Batch examples kept for dW (backward and hybrid).</summary>
    public KCount BackwardWeight { get; } = new();

    public double ExecutedMacs { get; private set; }
    public double ExactMacs { get; private set; }

    /// <summary>One product ran with <paramref name="executed"/> multiply-adds where the exact layer needs <paramref name="exact"/>.</summary>
    public void AddMacs(double exact, double executed) { ExactMacs += exact; ExecutedMacs += executed; }

    public void Reset()
    {
        Forward.Reset(); BackwardInput.Reset(); BackwardWeight.Reset();
        ExecutedMacs = 0; ExactMacs = 0;
    }
}
