namespace Frugal.Methods.Zap;

/// <summary>
/// The closed-form parts of ZAP (Shomron et al., ECCV 2020; ../shared/METHODS.md §6): the inference mask, the
/// per-layer error, and MAC accounting net of the predictor's own cost.
/// </summary>
public static class ZapMath
{
    /// <summary>The offset that keeps computed positions: m = 1[u + <see cref="ComputedOffset"/>·P &gt; t] (paper, §3.2).</summary>
    public const float ComputedOffset = 1e5f;

    /// <summary>Inference mask m = 1[u + 10⁵·P &gt; t] of one position.</summary>
    public static bool Keep(float u, bool computed, double threshold) => u + (computed ? ComputedOffset : 0) > threshold;

    /// <summary>error(t) = 1 − Σ(x·m)/Σx: the share of the activation mass the mask drops (0 when Σx = 0).</summary>
    public static double Error(double keptSum, double totalSum) => totalSum > 0 ? 1 - keptSum / totalSum : 0;

    /// <summary>MACs one output element of a convolution costs: C_in/groups·kh·kw.</summary>
    public static long MacsPerOutput(int inChannels, int groups, int kernelH, int kernelW) => (long)inChannels / groups * kernelH * kernelW;

    /// <summary>
    /// Net MACs saved by a ZAP per image: the predicted-zero outputs × the producing convolution's MACs per output,
    /// minus the predictor's own MACs (2·9 per element of the C×H×W map, <see cref="ZapPredictor.MacsPerImage"/>).
    /// Negative when the predictor costs more than it saves.
    /// </summary>
    public static double NetSavedMacs(double predictedZerosPerImage, long macsPerOutput, long predictorMacsPerImage) =>
        predictedZerosPerImage * macsPerOutput - predictorMacsPerImage;
}
