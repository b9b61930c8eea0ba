using Frugal.Autograd;
using Frugal.Data;
using Frugal.Nn;
using Frugal.Ops;

namespace Frugal.Training;

/// <summary>Mean loss and accuracy of a model over a data set, in eval mode and without a graph.</summary>
public static class Evaluation
{
    public static (double Loss, double Accuracy) Run(Module model, DataLoader loader)
    {
        bool wasTraining = model.Training;
        model.Eval();
        double lossSum = 0;
        long correct = 0, seen = 0;
        using (GradMode.NoGrad())
        {
            foreach (var batch in loader.Epoch(0))
            {
                var logits = model.Call(batch.Images);
                lossSum += logits.CrossEntropy(batch.Labels).Item() * batch.Size;
                var pred = logits.ArgMax(1);
                for (int i = 0; i < pred.Length; i++) if (pred[i] == batch.Labels[i]) correct++;
                seen += batch.Size;
                Backends.Cpu.BufferPool.Recycle();
            }
        }
        model.Train(wasTraining);
        return seen == 0 ? (double.NaN, double.NaN) : (lossSum / seen, (double)correct / seen);
    }
}
