using Frugal.Tensors;

namespace Frugal.Optim;

/// <summary>Updates parameters in place from their gradients. Parameters without a gradient are skipped.</summary>
public abstract class Optimizer
{
    protected Optimizer(IEnumerable<Tensor> parameters, double learningRate)
    {
        Parameters = parameters.ToList();
        if (Parameters.Count == 0) throw new ArgumentException($"{GetType().Name}: no parameters to optimise");
        if (learningRate < 0) throw new ArgumentException($"{GetType().Name}: learning rate must be ≥ 0, got {learningRate}");
        LearningRate = learningRate;
    }

    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The current learning rate; schedules set it before each step.</summary>
    public double LearningRate { get; set; }

    public abstract void Step();

    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.Grad = null;
    }
}
