using System.Diagnostics;
using Frugal.Autograd;
using Frugal.Nn;
using Frugal.Tensors;

namespace Frugal.Methods.Zap;

/// <summary>Wall-clock of one block or the whole inference, dense and with ZAP's skipped outputs, and the outputs skipped.</summary>
public sealed record ZapTime(string What, double DenseMs, double SparseMs, double SkippedFraction)
{
    /// <summary>Sparse time / dense time: below 1 the skipping pays.</summary>
    public double Ratio => SparseMs / DenseMs;
}

/// <summary>
/// Measures ZAP's real savings (../shared/METHODS.md §6) against the dense model in the same run: dense and sparse
/// interleaved on the same batches, each round alternating which goes first, the median round kept; the sparse times
/// include every overhead (partial im2col, predictor, mask, gathers and scatters).
/// </summary>
public static class ZapTiming
{
    public static List<ZapTime> Measure(ZapNetwork zap, IReadOnlyList<Tensor> batches, int rounds = 5)
    {
        if (zap.Model is not Sequential seq)
            throw new NotSupportedException("zap timing: runs flat Sequential models (the zoo's cnn); this model is not one");
        using var _ = GradMode.NoGrad();
        zap.Model.Eval();
        zap.SetMode(ZapMode.Off);
        var results = new List<ZapTime>();
        foreach (var l in zap.Layers.Where(l => l.Threshold != null))
        {
            int relu = int.Parse(l.Name, System.Globalization.CultureInfo.InvariantCulture);
            int convAt = l.ConvName == (relu - 2).ToString(System.Globalization.CultureInfo.InvariantCulture) ? relu - 2 : relu - 1;
            var conv = (Conv2d)seq[convAt];
            var bn = seq[convAt + 1] as BatchNorm2d;
            // The block's inputs: the dense prefix of the model on each batch.
            var inputs = batches.Select(b => { var x = b; for (int i = 0; i < convAt; i++) x = seq[i].Call(x); return x; }).ToList();
            long skipped = 0, outputs = 0;
            var (dense, sparse) = Interleave(rounds, inputs.Count,
                i => ZapSparseConv.Dense(inputs[i], conv, bn),
                i =>
                {
                    var (y, s) = ZapSparseConv.Forward(inputs[i], conv, bn, l.Predictor, l.Threshold!.Value);
                    skipped += s; outputs += y.Numel;
                });
            results.Add(new ZapTime($"block {l.ConvName}→{l.Name}", dense, sparse, (double)skipped / Math.Max(1, outputs)));
        }
        long allSkipped = 0, allOutputs = 0, perImage = zap.Layers.Where(l => l.Threshold != null).Sum(l => (long)l.Channels * l.Height * l.Width);
        var (d, sp) = Interleave(rounds, batches.Count, i => seq.Call(batches[i]), i =>
        {
            allSkipped += ZapSparseInference.Forward(zap, batches[i]).Skipped;
            allOutputs += perImage * batches[i].Shape[0];
        });
        results.Add(new ZapTime("whole inference", d, sp, (double)allSkipped / Math.Max(1, allOutputs)));
        return results;
    }

    /// <summary>Median over rounds of the summed ms of dense and of sparse over all items, alternating which goes first.</summary>
    static (double Dense, double Sparse) Interleave(int rounds, int items, Action<int> dense, Action<int> sparse)
    {
        dense(0); sparse(0);   // warm-up: JIT, buffers
        var d = new List<double>();
        var s = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            double td = 0, ts = 0;
            for (int i = 0; i < items; i++)
            {
                if ((r + i) % 2 == 0) { td += Time(() => dense(i)); ts += Time(() => sparse(i)); }
                else { ts += Time(() => sparse(i)); td += Time(() => dense(i)); }
            }
            d.Add(td); s.Add(ts);
        }
        d.Sort(); s.Sort();
        return (d[rounds / 2], s[rounds / 2]);
    }

    static double Time(Action a)
    {
        long t0 = Stopwatch.GetTimestamp();
        a();
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }
}
