using Frugal.Autograd;
using Frugal.Data;
using Frugal.Nn;
using Frugal.Ops;

namespace Frugal.Training;

/// <summary>Mean loss and accuracy of a model over a data set, in eval mode and without a graph.</summary>
public static class Evaluation
{
    /// <summary>Mean <paramref name="loss"/> (default cross-entropy) over the examples, and the fraction whose
    /// arg-max output is the label (NaN when the data set has no labels).</summary>
    public static (double Loss, double Accuracy) Run(Module model, DataLoader loader, LossFunction? loss = null)
    {
        var t = Totals(model, loader, loss);
        return t.Examples == 0 ? (double.NaN, double.NaN) : (t.LossSum / t.Examples, t.Labelled ? t.Correct / t.Examples : double.NaN);
    }

    /// <summary>The sums behind <see cref="Run"/>: loss × batch size, correct answers, examples (data-parallel
    /// evaluation adds them over the ranks' shards).</summary>
    public static (double LossSum, double Correct, double Examples, bool Labelled) Totals(Module model, DataLoader loader, LossFunction? loss = null)
    {
        loss ??= LossFunctions.CrossEntropy();
        bool wasTraining = model.Training;
        model.Eval();
        double lossSum = 0;
        long correct = 0, seen = 0;
        bool labelled = true;
        using (GradMode.NoGrad())
        {
            foreach (var batch in loader.Epoch(0))
            {
                using var step = loader.Device.BeginStep();
                var output = model.Call(batch.Inputs);
                lossSum += loss(output, batch).Item() * batch.Size;
                if (batch.Labels is { } labels)
                {
                    var pred = output.ArgMax(1);
                    for (int i = 0; i < pred.Length; i++) if (pred[i] == labels[i]) correct++;
                }
                else labelled = false;
                seen += batch.Size;
                output = null!;
            }
        }
        model.Train(wasTraining);
        return (lossSum, correct, seen, labelled);
    }
}
