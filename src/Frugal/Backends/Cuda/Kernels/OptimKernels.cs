namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Fused SGD and Adam/AdamW steps (CpuBackend.Optim.cs): the same per-step scalars (derived in double on the host,
/// rounded once) and the same float operations in the same order as the CPU's scalar tail.
/// </summary>
public static class OptimKernels
{
    public static KernelModule Module { get; } = new("optim", Source);

    const string Source = """
extern "C" __global__ void fr_sgd_step(float* p, const float* g, float* v, int n, float negLr, float momentum, float oneMinusDampening,
                                       float weightDecay, int hasMomentum, int hasWeightDecay, int nesterov, int first)
{
    FR_GRID_LOOP(i, n)
    {
        float gi = g[i];
        if (hasWeightDecay) gi += weightDecay * p[i];
        if (hasMomentum)
        {
            float b = first ? gi : momentum * v[i] + oneMinusDampening * gi;
            v[i] = b;
            gi = nesterov ? gi + momentum * b : b;
        }
        p[i] += negLr * gi;
    }
}

// vmax non-null means amsgrad.
extern "C" __global__ void fr_adam_step(float* p, const float* g, float* m, float* v, float* vmax, int n, float l2, float shrink,
                                        float oneMinusBeta1, float beta2, float oneMinusBeta2, float bc2Sqrt, float eps, float negStepSize,
                                        int hasL2, int decoupled)
{
    FR_GRID_LOOP(i, n)
    {
        float pi = p[i], gi = g[i];
        if (hasL2) gi += l2 * pi;
        if (decoupled) pi *= shrink;
        float mi = m[i];
        mi += oneMinusBeta1 * (gi - mi);
        m[i] = mi;
        float vi = v[i] * beta2 + oneMinusBeta2 * gi * gi;
        v[i] = vi;
        if (vmax)
        {
            vi = fr_max(vmax[i], vi);
            vmax[i] = vi;
        }
        float denom = sqrtf(vi) / bc2Sqrt + eps;
        p[i] = pi + negStepSize * (mi / denom);
    }
}
""";
}
