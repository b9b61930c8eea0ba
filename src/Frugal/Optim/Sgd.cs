using Frugal.Tensors;

namespace Frugal.Optim;

/// <summary>
/// Stochastic gradient descent as torch.optim.SGD: g ← g + λθ; with momentum μ,
/// b ← g on a parameter's first step, else b ← μb + (1 − dampening)g; d = nesterov ? g + μb : b
/// (d = g without momentum); θ ← θ − lr·d. One fused backend pass per parameter.
/// </summary>
public sealed class Sgd : Optimizer
{
    public double Momentum { get; }
    public double Dampening { get; }
    public double WeightDecay { get; }
    public bool Nesterov { get; }

    public override string Name => "SGD";

    /// <summary>Arguments in torch.optim.SGD's order (params, lr, momentum, dampening, weight_decay, nesterov).</summary>
    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
               double weightDecay = 0, bool nesterov = false) : base(parameters, learningRate)
    {
        NonNegative("momentum", momentum);
        NonNegative("weight decay", weightDecay);
        if (!double.IsFinite(dampening)) throw new ArgumentException($"SGD: dampening must be finite, got {dampening}");
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new ArgumentException($"SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got momentum {momentum}, dampening {dampening}");
        Momentum = momentum; Dampening = dampening; WeightDecay = weightDecay; Nesterov = nesterov;
    }

    static readonly string[] _bufferNames = ["momentum_buffer"];
    protected override IReadOnlyCollection<string> BufferNames => _bufferNames;

    protected override void Update(int index, Tensor param, Tensor grad, int step)
    {
        Tensor? velocity = null;
        bool first = false;
        if (Momentum != 0)
        {
            // PyTorch creates the buffer as a copy of the first gradient (no dampening on that step).
            first = FindBuffer(index, "momentum_buffer") is null;
            velocity = Buffer(index, "momentum_buffer");
        }
        param.Backend.SgdStep(param, grad, velocity, LearningRate, Momentum, Dampening, WeightDecay, Nesterov, first);
    }

    /// <summary>
    /// The scalar reference of the fused update, element by element in float, in the order of operations
    /// the backend kernels use (each hyperparameter rounded to float once, as PyTorch does). Tests compare
    /// every backend's <c>SgdStep</c> against it.
    /// </summary>
    public static void Reference(Span<float> param, ReadOnlySpan<float> grad, Span<float> velocity, double lr, double momentum,
                                 double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        float negLr = (float)-lr, mom = (float)momentum, oneMinusDamp = (float)(1 - dampening), wd = (float)weightDecay;
        for (int i = 0; i < param.Length; i++)
        {
            float g = grad[i];
            if (weightDecay != 0) g += wd * param[i];
            if (momentum != 0)
            {
                float b = firstStep ? g : mom * velocity[i] + oneMinusDamp * g;
                velocity[i] = b;
                g = nesterov ? g + mom * b : b;
            }
            param[i] += negLr * g;
        }
    }
}
