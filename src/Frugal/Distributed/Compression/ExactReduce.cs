namespace Frugal.Distributed.Compression;

/// <summary>--compress none: one fp32 all-reduce per bucket.</summary>
public sealed class ExactReduce : IGradientCompressor
{
    public string Name => "none";
    public void Reduce(GradientBucket bucket, IProcessGroup group) => group.AllReduce<float>(bucket.Values, ReduceOp.Sum);
}
