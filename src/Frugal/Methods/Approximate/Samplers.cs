namespace Frugal.Methods.Approximate;

/// <summary>Samplers by name (the values of --approx).</summary>
public static class Samplers
{
    public static readonly string[] Names = ["crs", "bernoulli", "topk", "crs-uniform"];

    /// <param name="name">crs, bernoulli, topk or crs-uniform.</param>
    /// <param name="epsilon">The reference code's ε-uniform mix (0 = the paper's optimal probabilities); topk ignores it.</param>
    public static IColumnSampler FromName(string name, double epsilon = 0) => name switch
    {
        "crs" => new CrsSampler(epsilon),
        "crs-uniform" => new CrsSampler(uniform: true),
        "bernoulli" => new BernoulliSampler(epsilon),
        "topk" => new TopKSampler(),
        _ => throw new ArgumentException($"--approx: unknown sampler '{name}' ({string.Join(", ", Names)})"),
    };
}
