using Frugal.Tensors;

namespace Frugal.Optim;

/// <summary>
/// AdamW as torch.optim.AdamW (Loshchilov &amp; Hutter 2019, Algorithm 2): the weight decay is decoupled
/// from the moments, θ ← θ − lr·λ·θ, then the plain Adam update on the raw gradient.
/// </summary>
public sealed class AdamW : Adam
{
    protected override bool Decoupled => true;
    public override string Name => "AdamW";

    /// <summary>Arguments as torch.optim.AdamW (weight_decay defaults to 0.01 there and here).</summary>
    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                 double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false)
        : base(parameters, learningRate, beta1, beta2, eps, weightDecay, amsgrad) { }
}
