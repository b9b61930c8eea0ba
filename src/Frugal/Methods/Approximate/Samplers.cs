namespace Frugal.Methods.Approximate;

/// <summary>The sampler of each <see cref="SamplerKind"/>.</summary>
public static class Samplers
{
    /// <param name="kind">Which sampler.</param>
    /// <param name="epsilon">The reference code's ε-uniform mix (0 = the paper's optimal probabilities); topk ignores it.</param>
    public static IColumnSampler Create(SamplerKind kind, double epsilon = 0) => kind switch
    {
        SamplerKind.Crs => new CrsSampler(epsilon),
        SamplerKind.CrsUniform => new CrsSampler(uniform: true),
        SamplerKind.Bernoulli => new BernoulliSampler(epsilon),
        SamplerKind.TopK => new TopKSampler(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "approx: unknown sampler"),
    };
}
