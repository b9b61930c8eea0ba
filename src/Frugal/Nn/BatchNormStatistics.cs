using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Nn;

/// <summary>
/// Re-estimates the running statistics of every batch norm from a pass over data, as PyTorch's
/// <c>torch.optim.swa_utils.update_bn</c> does: the running mean and variance become the plain average of the
/// per-batch statistics (momentum 1/i for batch i) of an exact forward pass. Every other module runs in evaluation mode
/// meanwhile, so column-row sampling's layers are exact and dropout is off: the statistics are those evaluation will
/// meet. Training's running statistics are exponential averages over the last ~10 batches of weights that kept moving,
/// and under forward-mode sampling they describe the sampled forward, not the exact one evaluation runs.
/// </summary>
public static class BatchNormStatistics
{
    /// <summary>Replaces the running statistics of the model's batch norms by their average over
    /// <paramref name="inputs"/> (no gradients); restores every module's training flag and every momentum after.
    /// Returns the number of batches used (0 and nothing changed when the model has no batch norm with running statistics).</summary>
    public static int Update(Module model, IEnumerable<Tensor> inputs)
    {
        var norms = model.NamedModules().Select(p => p.Module).OfType<BatchNorm>().Where(b => b.RunningMean != null).ToList();
        if (norms.Count == 0) return 0;
        var modes = model.NamedModules().Select(p => (p.Module, p.Module.Training)).ToList();
        var momenta = norms.Select(b => b.Momentum).ToList();
        int batches = 0;
        try
        {
            model.Eval();
            foreach (var b in norms)
            {
                b.Train();
                // A diverged run's NaN statistics would survive the first batch's 0·r: start from the initial values.
                b.RunningMean!.CopyFrom(Tensor.Zeros(new Shape(b.NumFeatures), b.RunningMean.Device));
                b.RunningVar!.CopyFrom(Tensor.Full(new Shape(b.NumFeatures), 1f, b.RunningVar.Device));
            }
            using (GradMode.NoGrad())
                foreach (var x in inputs)
                {
                    batches++;
                    foreach (var b in norms) b.Momentum = 1f / batches;
                    using var step = x.Device.BeginStep();
                    model.Call(x);
                }
        }
        finally
        {
            for (int i = 0; i < norms.Count; i++) norms[i].Momentum = momenta[i];
            foreach (var (m, training) in modes) m.TrainSelf(training);
        }
        return batches;
    }
}
