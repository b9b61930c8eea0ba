using Frugal.Backends.Cpu;
using Frugal.Backends.Cuda.Kernels;
using Frugal.Tensors;

namespace Frugal.Backends.Cuda;

// Fused optimizer steps and the squared norm on the GPU (IBackend.Optim.cs): the CPU backend's checks and per-step
// scalars (CpuBackend.SgdScalars / AdamScalars), the same float arithmetic in Kernels/OptimKernels.cs.
public sealed partial class CudaBackend
{
    public void SgdStep(Tensor param, Tensor grad, Tensor? velocity, double lr, double momentum, double dampening,
                        double weightDecay, bool nesterov, bool firstStep)
    {
        CpuBackend.SameLength("sgd_step", param, grad, "grad");
        if (momentum != 0)
        {
            if (velocity is null) throw new ArgumentException($"sgd_step: momentum {momentum} needs a velocity buffer");
            CpuBackend.SameLength("sgd_step", param, velocity, "velocity");
        }
        var k = new CpuBackend.SgdScalars(lr, momentum, dampening, weightDecay, nesterov, firstStep);
        int n = param.Numel;
        Launch(OptimKernels.Module, "fr_sgd_step", LaunchShape.ForElements(n),
            P(param), P(grad), momentum != 0 ? P(velocity!) : 0UL, n, k.NegLr, k.Momentum, k.OneMinusDampening, k.WeightDecay,
            Flag(k.HasMomentum), Flag(k.HasWeightDecay), Flag(k.Nesterov), Flag(k.First));
    }

    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq,
                         double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupledWeightDecay, int step)
    {
        CpuBackend.SameLength("adam_step", param, grad, "grad");
        CpuBackend.SameLength("adam_step", param, expAvg, "exp_avg");
        CpuBackend.SameLength("adam_step", param, expAvgSq, "exp_avg_sq");
        if (maxExpAvgSq is not null) CpuBackend.SameLength("adam_step", param, maxExpAvgSq, "max_exp_avg_sq");
        if (step < 1) throw new ArgumentException($"adam_step: step must be ≥ 1 (the count after this update), got {step}");
        var k = new CpuBackend.AdamScalars(lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, step, maxExpAvgSq is not null);
        int n = param.Numel;
        Launch(OptimKernels.Module, "fr_adam_step", LaunchShape.ForElements(n),
            P(param), P(grad), P(expAvg), P(expAvgSq), P(maxExpAvgSq, this), n, k.L2, k.Shrink, k.OneMinusBeta1, k.Beta2,
            k.OneMinusBeta2, k.Bc2Sqrt, k.Eps, k.NegStepSize, Flag(k.HasL2), Flag(k.Decoupled));
    }

    public void SquaredNorm(Tensor x, Tensor result, int index)
    {
        if ((uint)index >= (uint)result.Numel)
            throw new ArgumentException($"squared_norm: index {index} is outside a result of {result.Numel} elements");
        Launch(ReduceKernels.Module, "fr_squared_norm", LaunchShape.Single, P(x), x.Numel, P(result) + 4UL * (ulong)index);
    }
}
