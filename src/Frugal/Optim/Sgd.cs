using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Tensors;

namespace Frugal.Optim;

/// <summary>
/// SGD as torch.optim.SGD: g ← g + λθ; v ← μv + (1−dampening)g (v = g on the first step);
/// update d = nesterov ? g + μv : v; θ ← θ − lr·d.
/// </summary>
public sealed class Sgd : Optimizer
{
    public double Momentum { get; }
    public double WeightDecay { get; }
    public double Dampening { get; }
    public bool Nesterov { get; }
    readonly Dictionary<Tensor, Tensor> _velocity = new(ReferenceEqualityComparer.Instance);

    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double weightDecay = 0,
               double dampening = 0, bool nesterov = false) : base(parameters, learningRate)
    {
        if (momentum < 0) throw new ArgumentException($"SGD: momentum must be ≥ 0, got {momentum}");
        if (weightDecay < 0) throw new ArgumentException($"SGD: weight decay must be ≥ 0, got {weightDecay}");
        if (nesterov && (momentum <= 0 || dampening != 0)) throw new ArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening = 0");
        Momentum = momentum; WeightDecay = weightDecay; Dampening = dampening; Nesterov = nesterov;
    }

    /// <summary>Momentum buffers by parameter, for checkpoints.</summary>
    public IReadOnlyDictionary<Tensor, Tensor> Velocity => _velocity;

    public override void Step()
    {
        using var _ = GradMode.NoGrad();
        foreach (var p in Parameters)
        {
            if (p.Grad is not { } grad) continue;
            var be = p.Backend;
            var g = grad;
            if (WeightDecay != 0)
            {
                g = Tensor.Empty(p.Shape, p.Device);
                be.Map(UnaryOp.Affine, p, g, (float)WeightDecay, 0);
                be.Zip(BinaryOp.Add, g, grad, g);
            }
            if (Momentum != 0)
            {
                if (!_velocity.TryGetValue(p, out var v))
                {
                    v = Tensor.Empty(p.Shape, p.Device);
                    be.Map(UnaryOp.Copy, g, v);
                    _velocity[p] = v;
                }
                else
                {
                    be.Map(UnaryOp.Affine, v, v, (float)Momentum, 0);
                    if (Dampening != 0)
                    {
                        var t = Tensor.Empty(p.Shape, p.Device);
                        be.Map(UnaryOp.Affine, g, t, (float)(1 - Dampening), 0);
                        be.Zip(BinaryOp.Add, v, t, v);
                    }
                    else be.Zip(BinaryOp.Add, v, g, v);
                }
                if (Nesterov)
                {
                    var t = Tensor.Empty(p.Shape, p.Device);
                    be.Map(UnaryOp.Affine, v, t, (float)Momentum, 0);
                    be.Zip(BinaryOp.Add, t, g, t);
                    g = t;
                }
                else g = v;
            }
            var step = Tensor.Empty(p.Shape, p.Device);
            be.Map(UnaryOp.Affine, g, step, (float)-LearningRate, 0);
            be.Zip(BinaryOp.Add, p, step, p);
        }
    }
}
