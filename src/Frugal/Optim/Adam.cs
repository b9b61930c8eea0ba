using Frugal.Tensors;

namespace Frugal.Optim;

/// <summary>
/// Adam as torch.optim.Adam (Kingma &amp; Ba 2015, Algorithm 1, with PyTorch's placement of eps):
/// g ← g + λθ (L2 in the gradient); m ← β1·m + (1 − β1)g; v ← β2·v + (1 − β2)g²;
/// with amsgrad v̂ = max(v̂, v), else v̂ = v; θ ← θ − lr/(1 − β1ᵗ) · m / (√v̂/√(1 − β2ᵗ) + eps),
/// t counting this parameter's updates. One fused backend pass per parameter.
/// </summary>
public class Adam : Optimizer
{
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public bool Amsgrad { get; }

    /// <summary>Whether weight decay is AdamW's decoupled shrink rather than L2 in the gradient.</summary>
    protected virtual bool Decoupled => false;

    public override string Name => "Adam";

    /// <summary>Arguments as torch.optim.Adam (params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False).</summary>
    public Adam(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weightDecay = 0, bool amsgrad = false) : base(parameters, learningRate)
    {
        NonNegative("eps", eps);
        NonNegative("weight decay", weightDecay);
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentException($"{Name}: beta1 must be in [0, 1), got {beta1}");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentException($"{Name}: beta2 must be in [0, 1), got {beta2}");
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; Amsgrad = amsgrad;
    }

    static readonly string[] _plain = ["exp_avg", "exp_avg_sq"], _ams = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];
    protected override IReadOnlyCollection<string> BufferNames => Amsgrad ? _ams : _plain;
    protected override bool SavesParameterSteps => true;

    protected override void Update(int index, Tensor param, Tensor grad, int step) =>
        param.Backend.AdamStep(param, grad, Buffer(index, "exp_avg"), Buffer(index, "exp_avg_sq"),
                               Amsgrad ? Buffer(index, "max_exp_avg_sq") : null,
                               LearningRate, Beta1, Beta2, Eps, WeightDecay, Decoupled, step);

    /// <summary>
    /// The scalar reference of the fused update (Adam, or AdamW when <paramref name="decoupledWeightDecay"/>),
    /// element by element in float in the kernels' order of operations, the per-step scalars derived in double
    /// as PyTorch's _single_tensor_adam does. <paramref name="step"/> counts updates including this one;
    /// an empty <paramref name="maxExpAvgSq"/> means no amsgrad. Tests compare every backend's <c>AdamStep</c> against it.
    /// </summary>
    public static void Reference(Span<float> param, ReadOnlySpan<float> grad, Span<float> expAvg, Span<float> expAvgSq,
                                 Span<float> maxExpAvgSq, double lr, double beta1, double beta2, double eps,
                                 double weightDecay, bool decoupledWeightDecay, int step)
    {
        bool amsgrad = !maxExpAvgSq.IsEmpty;
        float l2 = (float)weightDecay, shrink = (float)(1 - lr * weightDecay);
        float oneMinusBeta1 = (float)(1 - beta1), b2 = (float)beta2, oneMinusBeta2 = (float)(1 - beta2);
        double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
        float bc2Sqrt = (float)Math.Sqrt(bc2), negStepSize = (float)(-(lr / bc1)), e = (float)eps;
        for (int i = 0; i < param.Length; i++)
        {
            float p = param[i], g = grad[i];
            if (weightDecay != 0)
            {
                if (decoupledWeightDecay) p *= shrink;      // AdamW: θ ← θ(1 − lr·λ) before the Adam step
                else g += l2 * p;                          // Adam: L2 penalty enters the moments
            }
            float m = expAvg[i];
            m += oneMinusBeta1 * (g - m);                  // exp_avg.lerp_(grad, 1 − β1)
            expAvg[i] = m;
            float v = expAvgSq[i] * b2 + oneMinusBeta2 * g * g;
            expAvgSq[i] = v;
            if (amsgrad) { v = MathF.Max(maxExpAvgSq[i], v); maxExpAvgSq[i] = v; }
            float denom = MathF.Sqrt(v) / bc2Sqrt + e;
            param[i] = p + negStepSize * (m / denom);
        }
    }
}
