using Frugal.Data;
using Frugal.Methods.Compression;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Training;

namespace Frugal.Samples;

/// <summary>
/// A hand-written training loop over a model of one's own, with a gradient method attached: lognormal stochastic
/// pruning of the neural gradients (METHODS.md §1). No Trainer, no CLI: the same parts a Trainer is made of.
/// </summary>
public static class CustomLoopSample
{
    public sealed record Result(double FirstEpochLoss, double LastEpochLoss, double Accuracy, double GradientSparsity);

    public static Result Run(int perClass = 300, int epochs = 30, Action<string>? log = null)
    {
        var data = Spirals.Make(perClass, seed: 1);
        var model = new SpiralNet(seed: 2);
        var pruning = new NeuralGradientPruning(new GradPruneOptions { Sparsity = 0.8 }, seed: 3);
        pruning.Attach(model);                      // hooks the neural gradients of "input" and "hidden"
        var optimizer = new Adam(model.Parameters(), learningRate: 0.01);
        var loader = new DataLoader(data, batchSize: 64, shuffle: true, seed: 4);

        double first = 0, last = 0, sparsity = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            double lossSum = 0;
            int b = 0;
            foreach (var batch in loader.Epoch(epoch))
            {
                using var step = loader.Device.BeginStep();     // buffers of this step are reused by the next
                pruning.OnStep(epoch, b++, loader.Count);
                var loss = model.Call(batch.Inputs).CrossEntropy(batch.Labels!);   // Call runs the method's hooks
                optimizer.ZeroGrad();
                loss.Backward();
                optimizer.Step();
                lossSum += loss.Item();
            }
            var figures = new Dictionary<string, object>();
            pruning.CollectEpochFigures(figures);
            sparsity = (double)figures["grad_sparsity"];
            last = lossSum / b;
            if (epoch == 1) first = last;
            log?.Invoke($"epoch {epoch}: loss {last:F4}, neural-gradient sparsity {sparsity:P1}");
        }
        var (_, accuracy) = Evaluation.Run(model, new DataLoader(data, 256, shuffle: false));
        return new Result(first, last, accuracy, sparsity);
    }
}

public static class Program
{
    public static void Main()
    {
        var r = CustomLoopSample.Run(log: Console.WriteLine);
        Console.WriteLine($"accuracy {r.Accuracy:P1} with {r.GradientSparsity:P1} of the hooked neural gradients pruned");
    }
}
