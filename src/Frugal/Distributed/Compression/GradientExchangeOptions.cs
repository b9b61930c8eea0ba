using System.Text.Json.Serialization;
using Frugal.Methods.Approximate;
using Frugal.Methods.Compression;
using Frugal.Nn;
using Frugal.Options;

namespace Frugal.Distributed.Compression;

/// <summary>
/// How data-parallel gradients cross the network: the "exchange" section of a run config. <see cref="Compressor"/>
/// picks one <see cref="IGradientCompressor"/>; the sub-section of that compressor (and only that one) refines it.
/// </summary>
public sealed record GradientExchangeOptions
{
    /// <summary>The compressor names <see cref="Compressor"/> takes (besides any low-bit format spec such as e4m3fn).</summary>
    public static IReadOnlyList<string> Names { get; } = ["none", "fp16", "fp8", "fp6", "prune", "topk-crs", "powersgd", "entropy"];

    /// <summary>none (exact fp32), fp16, a low-bit format (fp8, fp6, fp4, eXmY, eXmYfn), prune, topk-crs, powersgd or
    /// entropy.</summary>
    public string Compressor { get; init; } = "none";
    /// <summary>Low-bit formats: rounding and error feedback (the format is <see cref="Compressor"/>).</summary>
    public LowBitReduceOptions? LowBit { get; init; }
    /// <summary>prune: sparsity, threshold, error feedback.</summary>
    public SparsePruneReduceOptions? Prune { get; init; }
    /// <summary>topk-crs: keep, layers, min_k (default: those of a Top-k approx section, so both select alike).</summary>
    [JsonPropertyName("topk_crs")] public TopKCrsReduceOptions? TopKCrs { get; init; }
    /// <summary>powersgd: rank, start_iteration, warm start, error feedback.</summary>
    [JsonPropertyName("powersgd")] public PowerSgdOptions? PowerSgd { get; init; }
    /// <summary>entropy: the adaptive bits (b₀, min, max), error feedback, the coder's precision (a PROPOSAL).</summary>
    public EntropyCodedReduceOptions? Entropy { get; init; }

    bool IsLowBit => Compressor is not ("none" or "fp16" or "prune" or "topk-crs" or "powersgd" or "entropy");

    public GradientExchangeOptions Validate()
    {
        OptionException.Require(Compressor != null, "compressor", $"must be one of {string.Join(", ", Names)}, not null");
        if (IsLowBit)
        {
            try { _ = GradientFormatSpec.Parse(Compressor); }
            catch (ArgumentException) { throw new OptionException("compressor", $"unknown compressor '{Compressor}' (choose {string.Join(", ", Names)}, or a low-bit format such as fp4 or e4m3fn)"); }
        }
        Only(LowBit != null, IsLowBit, "low_bit");
        Only(Prune != null, Compressor == "prune", "prune");
        Only(TopKCrs != null, Compressor == "topk-crs", "topk_crs");
        Only(PowerSgd != null, Compressor == "powersgd", "powersgd");
        Only(Entropy != null, Compressor == "entropy", "entropy");
        if (LowBit != null)
        {
            OptionException.Require(LowBit.Format == new LowBitReduceOptions().Format || LowBit.Format == Compressor, "low_bit.format",
                $"the format is the compressor's ('{Compressor}'); leave low_bit.format out");
            OptionException.InSection("low_bit", () => (LowBit with { Format = Compressor }).Validate());
        }
        if (Prune != null) OptionException.InSection("prune", Prune.Validate);
        if (TopKCrs != null) OptionException.InSection("topk_crs", TopKCrs.Validate);
        if (PowerSgd != null) OptionException.InSection("powersgd", PowerSgd.Validate);
        if (Entropy != null) OptionException.InSection("entropy", Entropy.Validate);
        return this;
    }

    void Only(bool given, bool selected, string section) =>
        OptionException.Require(!given || selected, section, $"refines the {section.Replace('_', '-')} compressor, but the compressor is '{Compressor}'");

    /// <summary>The compressor for <paramref name="model"/> (after the methods have attached), seeded by
    /// <paramref name="seed"/>; <paramref name="approx"/> gives Top-k CRS its layers and keep ratio when it has none.</summary>
    public IGradientCompressor Create(Module model, ulong seed, ApproxOptions? approx = null) => Compressor switch
    {
        "none" => new ExactReduce(),
        "fp16" => new HalfPrecisionReduce(),
        "prune" => new SparsePruneReduce(Prune ?? new(), seed),
        // The layer names are checked against the model here, so their errors name the key.
        "topk-crs" => OptionException.InSection("exchange.topk_crs", () =>
            new TopKCrsReduce(TopKCrs ?? (approx is { Sampler: SamplerKind.TopK } a ? TopKCrsReduceOptions.Matching(a) : new()), model)),
        "powersgd" => new PowerSgdReduce(PowerSgd ?? new(), seed),
        "entropy" => new EntropyCodedReduce(Entropy ?? new()),
        _ => new LowBitReduce((LowBit ?? new()) with { Format = Compressor }, seed),
    };
}
