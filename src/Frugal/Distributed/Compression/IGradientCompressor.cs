namespace Frugal.Distributed.Compression;

/// <summary>
/// How a bucket of gradients crosses the network. A compressor owns its communication rounds (PowerSGD needs two
/// dependent all-reduces, low-bit formats an all-to-all and an all-gather) and any state it keeps between steps
/// (error feedback, warm starts), keyed by bucket index. Every rank calls <see cref="Reduce"/> for the same buckets in
/// the same order.
/// </summary>
public interface IGradientCompressor
{
    /// <summary>The --compress name: none, fp16, fp8, fp6, prune, topk-crs, powersgd, entropy.</summary>
    string Name { get; }

    /// <summary>
    /// On entry <c>bucket.Values</c> holds this rank's gradient, already scaled by its share (1/N of the mean, so
    /// the sum over ranks is the mean gradient); on return it holds the sum over all ranks, exact or as the
    /// compressor estimates it, identical on every rank. Low-bit values are summed in fp32, never in low precision.
    /// </summary>
    void Reduce(GradientBucket bucket, IProcessGroup group);

    /// <summary>Adds this epoch's figures (snake_case keys, e.g. compression ratio, KS statistics) and starts afresh.</summary>
    void CollectEpochFigures(IDictionary<string, object> figures) { }
}
