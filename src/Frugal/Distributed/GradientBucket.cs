using Frugal.Tensors;

namespace Frugal.Distributed;

/// <summary>One parameter's place in a <see cref="GradientBucket"/>: its gradient is Values[Offset .. Offset + Numel].</summary>
public readonly record struct GradientSegment(Tensor Parameter, int Offset)
{
    public int Numel => Parameter.Numel;
    public Shape Shape => Parameter.Shape;
    public string Name => Parameter.Name ?? Parameter.Shape.ToString();
}

/// <summary>
/// Several parameters' gradients in one flat fp32 buffer, reduced across ranks as one unit (fewer, larger collectives;
/// DDP's buckets). Buckets are formed in reverse parameter order, the order backward produces gradients, so a bucket
/// can be sent while backward computes the next. <see cref="Index"/> and the segments are identical on every rank.
/// </summary>
public sealed class GradientBucket
{
    public int Index { get; }
    public IReadOnlyList<GradientSegment> Segments { get; }
    /// <summary>The gradients, segment after segment (then any reserved values).</summary>
    public float[] Values { get; }

    /// <param name="index">The bucket's place in the sending order.</param>
    /// <param name="parameters">Its parameters, in the order their gradients are laid out.</param>
    /// <param name="reserve">Extra values after the gradients, reduced with them (a count that must travel along).</param>
    public GradientBucket(int index, IReadOnlyList<Tensor> parameters, int reserve = 0)
    {
        Index = index;
        var segments = new List<GradientSegment>(parameters.Count);
        int offset = 0;
        foreach (var p in parameters) { segments.Add(new GradientSegment(p, offset)); offset += p.Numel; }
        Segments = segments;
        Values = new float[offset + reserve];
    }

    public Span<float> Of(GradientSegment s) => Values.AsSpan(s.Offset, s.Numel);
}
