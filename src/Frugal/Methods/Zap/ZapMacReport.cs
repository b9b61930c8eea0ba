namespace Frugal.Methods.Zap;

/// <summary>
/// MACs of one ZAP layer per image (../shared/METHODS.md §6): the producing conv's, the share of its outputs predicted
/// zero, what that saves, the predictor's own cost (0 when the layer's ZAP is off), and the net.
/// </summary>
public sealed record ZapLayerMacs(string Layer, string Conv, double? Threshold, long ConvMacs, long PredictorMacs,
    double PredictedZerosPerImage, long MacsPerOutput, double Error, long OutputsPerImage)
{
    public double PredictedZeroFraction => OutputsPerImage == 0 ? 0 : PredictedZerosPerImage / OutputsPerImage;
    public double GrossSavedMacs => PredictedZerosPerImage * MacsPerOutput;
    public double NetSavedMacs => ZapMath.NetSavedMacs(PredictedZerosPerImage, MacsPerOutput, PredictorMacs);
}

/// <summary>The MAC report of a masked model: per layer, and the totals as fractions of the dense model's MACs.</summary>
public sealed record ZapMacReport(long ModelMacs, IReadOnlyList<ZapLayerMacs> Layers)
{
    public double GrossSavedMacs => Layers.Sum(l => l.GrossSavedMacs);
    public double PredictorMacs => Layers.Sum(l => (double)l.PredictorMacs);
    public double NetSavedMacs => GrossSavedMacs - PredictorMacs;
    /// <summary>Net saved MACs / the dense model's MACs.</summary>
    public double NetSavedFraction => ModelMacs == 0 ? 0 : NetSavedMacs / ModelMacs;
    public double GrossSavedFraction => ModelMacs == 0 ? 0 : GrossSavedMacs / ModelMacs;
    public double PredictorFraction => ModelMacs == 0 ? 0 : PredictorMacs / ModelMacs;
    /// <summary>Σ over layers of error(t) (the per-layer solver's budget quantity).</summary>
    public double TotalError => Layers.Sum(l => l.Threshold == null ? 0 : l.Error);
}
