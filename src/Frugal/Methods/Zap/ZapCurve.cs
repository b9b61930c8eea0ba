namespace Frugal.Methods.Zap;

/// <summary>
/// One layer's measured operating curves over the candidate thresholds (../shared/METHODS.md §6): predicted-zero outputs
/// per image and error(t) = 1 − Σ(x·m)/Σx, priced by the producing conv's MACs per output and the predictor's MACs.
/// </summary>
public sealed record ZapCurve(string Layer, double[] Thresholds, double[] PredictedZerosPerImage, double[] Error,
    long MacsPerOutput, long PredictorMacsPerImage)
{
    /// <summary>Net MACs saved per image at threshold index k (<see cref="ZapMath.NetSavedMacs"/>).</summary>
    public double NetSavedMacs(int k) => ZapMath.NetSavedMacs(PredictedZerosPerImage[k], MacsPerOutput, PredictorMacsPerImage);
}
