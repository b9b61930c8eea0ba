using Frugal.Methods;
using Frugal.Methods.Approximate;
using Frugal.Methods.Compression;
using Frugal.Methods.OutputHeads;
using Frugal.Methods.Entropy;
using Frugal.Methods.Robustness;
using Frugal.Options;

namespace Frugal.Runs;

/// <summary>
/// The efficient-training methods of a run config: one section per method (its own options record; null = off), and
/// the one place that turns them into methods. A new method adds its section and its line here, its flags in the CLI's
/// TrainFlags, and nothing else outside its own folder.
/// </summary>
public sealed partial record TrainOptions
{
    /// <summary>Neural-gradient pruning (METHODS.md §1); null = off.</summary>
    public GradPruneOptions? GradPrune { get; init; }
    /// <summary>Low-bit floating-point neural gradients (METHODS.md §1); null = off.</summary>
    public LowBitGradientsOptions? GradFormat { get; init; }
    /// <summary>Column-row sampling in conv/linear layers (METHODS.md §2); null = exact.</summary>
    public ApproxOptions? Approx { get; init; }
    /// <summary>KURE, the kurtosis regulariser for quantisation robustness (METHODS.md §5); null = off.</summary>
    public KureOptions? Kure { get; init; }
    /// <summary>Quantisation-aware training with learned steps (LSQ, METHODS.md §5); null = float training.</summary>
    public QatOptions? Qat { get; init; }
    /// <summary>Report the first and last weight's gradient norms per epoch (METHODS.md §4.2); on by itself whenever
    /// a <see cref="Head"/> section is given, so a head and its softmax baseline report the same figures.</summary>
    public bool LogGradNorm { get; init; }
    /// <summary>Entropy of quantised weights and updates per layer and epoch (METHODS.md §4.1, a PROPOSAL); null = off.</summary>
    public EntropyReportOptions? EntropyReport { get; init; }

    void ValidateMethods()
    {
        if (GradPrune != null) OptionException.InSection("grad_prune", GradPrune.Validate);
        if (GradFormat != null) OptionException.InSection("grad_format", GradFormat.Validate);
        if (Approx != null) OptionException.InSection("approx", Approx.Validate);
        if (Kure != null) OptionException.InSection("kure", Kure.Validate);
        if (Qat != null) OptionException.InSection("qat", Qat.Validate);
        if (EntropyReport != null) OptionException.InSection("entropy_report", EntropyReport.Validate);
        OptionException.Require(Qat == null || Approx == null, "qat", "does not combine with approx (both replace the conv/linear layers); choose one");
    }

    /// <summary>The methods the sections switch on, in the order they attach, seeded by <see cref="Seed"/>.</summary>
    public IReadOnlyList<ITrainingMethod> CreateMethods()
    {
        var methods = new List<ITrainingMethod>();
        // Layer replacements first (column-row sampling), so gradient methods hook the layers that actually run.
        if (Approx != null) methods.Add(new CrsApproximation(Approx, Seed));
        // Gradient hooks run in attach order: pruning first, then the low-bit cast of what survives.
        if (GradPrune != null) methods.Add(new NeuralGradientPruning(GradPrune, Seed));
        if (GradFormat != null) methods.Add(new LowBitGradients(GradFormat, Seed));
        // KURE holds the weight tensors themselves, so it attaches before QAT wraps their layers.
        if (Kure != null) methods.Add(new KurtosisRegularization(Kure));
        if (Qat != null) methods.Add(new QuantizationAwareTraining(Qat));
        // It reads each step's weight gradients at the next step, after the methods, reduction and clipping are done with them.
        if (LogGradNorm || Head != null) methods.Add(new GradientSignal());
        // It only reads the weights each step, so it goes last.
        if (EntropyReport != null) methods.Add(new EntropyReport(EntropyReport));
        return methods;
    }
}
