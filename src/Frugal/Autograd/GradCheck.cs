using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Autograd;

/// <summary>
/// Compares backward against central finite differences. The function is evaluated in float32, so
/// differences use a relatively large step and the check projects the output onto a fixed random
/// direction (a scalar loss), which keeps it cheap and still catches a backward that is off by 1%.
/// </summary>
public static class GradCheck
{
    public sealed record Result(bool Ok, double MaxRelativeError, string Report);

    /// <param name="f">The function under test; it must be deterministic.</param>
    /// <param name="inputs">Inputs; those with RequiresGrad are checked.</param>
    /// <param name="eps">Finite-difference step.</param>
    /// <param name="tolerance">Allowed |analytic − numeric| / max(|numeric|, floor).</param>
    /// <param name="seed">Seed of the random projection of the output.</param>
    public static Result Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-2, double tolerance = 2e-3, ulong seed = 7)
    {
        var y0 = f(inputs);
        var proj = Tensor.Randn(y0.Shape, new Generator(seed), y0.Device);
        var loss = y0.Mul(proj).Sum();
        foreach (var x in inputs) x.Grad = null;
        loss.Backward();

        double worst = 0;
        var report = new System.Text.StringBuilder();
        bool ok = true;
        for (int n = 0; n < inputs.Length; n++)
        {
            var x = inputs[n];
            if (!x.RequiresGrad) continue;
            if (x.Grad == null) { ok = false; report.AppendLine($"input {n}: no gradient reached it"); continue; }
            var analytic = x.Grad.ToArray();
            var data = x.ToArray();
            var numeric = new double[data.Length];
            for (int i = 0; i < data.Length; i++)
            {
                double orig = data[i];
                numeric[i] = (Eval(f, inputs, x, data, i, orig + eps, proj) - Eval(f, inputs, x, data, i, orig - eps, proj)) / (2 * eps);
                data[i] = (float)orig;
                x.Backend.Upload(data, x.Storage, x.Offset);
            }
            // Scale of the gradient: errors are judged relative to its largest entry, so entries
            // that are near zero by cancellation do not fail on float32 rounding noise.
            double scale = Math.Max(numeric.Max(Math.Abs), 1e-3);
            for (int i = 0; i < data.Length; i++)
            {
                double err = Math.Abs(analytic[i] - numeric[i]) / Math.Max(Math.Abs(numeric[i]), scale * 0.1);
                if (err > worst) worst = err;
                if (err > tolerance && ok)
                {
                    ok = false;
                    report.AppendLine($"input {n} element {i}: analytic {analytic[i]:G6}, numeric {numeric[i]:G6}, relative error {err:G3}");
                }
            }
        }
        return new Result(ok, worst, report.ToString());
    }

    static double Eval(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor x, float[] data, int i, double value, Tensor proj)
    {
        data[i] = (float)value;
        x.Backend.Upload(data, x.Storage, x.Offset);
        using var _ = GradMode.NoGrad();
        // Accumulate in double on the host: float32 sums would drown the O(eps) difference.
        var y = f(inputs).ToArray();
        var p = proj.ToArray();
        double s = 0;
        for (int k = 0; k < y.Length; k++) s += (double)y[k] * p[k];
        return s;
    }
}
