namespace Frugal.Methods.Compression;

/// <summary>
/// One layer's per-epoch figures of <see cref="NeuralGradientPruning"/>: sums over the epoch's steps, written out as
/// averages (the "grad_layers" object of metrics.jsonl). Fit figures average over the steps that fitted; pruning
/// figures over the steps that pruned. Absent figures are left out (JSON has no NaN).
/// </summary>
sealed class LayerFigures
{
    int _fits, _ksFits, _prunes;
    double _mu, _sigma, _ks, _ksGauss, _ksLaplace, _target, _cosPred, _cosPredTrunc, _cosMeas;
    long _zeros, _elements;

    public void AddFit(GradientFit f)
    {
        _fits++;
        _mu += f.Mu; _sigma += f.Sigma;
        if (double.IsNaN(f.KsLogNormal)) return;
        _ksFits++;
        _ks += f.KsLogNormal; _ksGauss += f.KsGaussian; _ksLaplace += f.KsLaplace;
    }

    /// <summary>Fits so far this epoch (the method computes the KS diagnostics on every n-th).</summary>
    public int Fits => _fits;

    public void AddPrune(double target, double cosPred, double cosPredTruncated, double cosMeasured, long zeros, long elements)
    {
        _prunes++;
        _target += target; _cosPred += cosPred; _cosPredTrunc += cosPredTruncated; _cosMeas += cosMeasured;
        _zeros += zeros; _elements += elements;
    }

    public long Zeros => _zeros;
    public long Elements => _elements;

    public Dictionary<string, object> ToFigures()
    {
        var d = new Dictionary<string, object>();
        void Put(string key, double v) { if (double.IsFinite(v)) d[key] = v; }
        if (_prunes > 0)
        {
            Put("target", _target / _prunes);
            Put("sparsity", (double)_zeros / _elements);
            Put("cos_pred", _cosPred / _prunes);
            Put("cos_pred_trunc", _cosPredTrunc / _prunes);
            Put("cos_meas", _cosMeas / _prunes);
            Put("elements", _elements / _prunes);
        }
        if (_fits > 0)
        {
            d["fits"] = _fits;
            Put("mu", _mu / _fits);
            Put("sigma", _sigma / _fits);
        }
        if (_ksFits > 0)
        {
            Put("ks", _ks / _ksFits);
            Put("ks_gauss", _ksGauss / _ksFits);
            Put("ks_laplace", _ksLaplace / _ksFits);
        }
        return d;
    }
}
