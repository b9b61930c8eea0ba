using System.Numerics;
using System.Runtime.InteropServices;
using Frugal.Tensors;

namespace Frugal.Backends.Cpu;

/// <summary>
/// Fused SGD and Adam/AdamW updates (one pass over param, grad and state, Vector&lt;float&gt; body with a
/// scalar tail that does the same float operations in the same order), and the squared norm for clipping.
/// The arithmetic mirrors PyTorch's single-tensor CPU path: no FMA, each scalar rounded to float once.
/// </summary>
public sealed partial class CpuBackend
{
    public void SgdStep(Tensor param, Tensor grad, Tensor? velocity, double lr, double momentum, double dampening,
                        double weightDecay, bool nesterov, bool firstStep)
    {
        SameLength("sgd_step", param, grad, "grad");
        if (momentum != 0)
        {
            if (velocity is null) throw new ArgumentException($"sgd_step: momentum {momentum} needs a velocity buffer");
            SameLength("sgd_step", param, velocity, "velocity");
        }
        var k = new SgdScalars(lr, momentum, dampening, weightDecay, nesterov, firstStep);
        var pd = Data(param); var gd = Data(grad); var vd = momentum != 0 ? Data(velocity!) : null;
        int po = param.Offset, go = grad.Offset, vo = velocity?.Offset ?? 0;
        Threading.ForStreaming(param.Numel, (s, e) =>
            SgdRange(pd.AsSpan(po + s, e - s), gd.AsSpan(go + s, e - s), vd is null ? default : vd.AsSpan(vo + s, e - s), k));
    }

    internal readonly struct SgdScalars(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool firstStep)
    {
        public readonly float NegLr = (float)-lr, Momentum = (float)momentum, OneMinusDampening = (float)(1 - dampening),
                              WeightDecay = (float)weightDecay;
        public readonly bool HasMomentum = momentum != 0, HasWeightDecay = weightDecay != 0, Nesterov = nesterov, First = firstStep;
    }

    static void SgdRange(Span<float> p, ReadOnlySpan<float> g, Span<float> v, in SgdScalars k)
    {
        int n = p.Length, i = 0, w = Vector<float>.Count;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rv = ref MemoryMarshal.GetReference(v);
        var negLr = new Vector<float>(k.NegLr); var mom = new Vector<float>(k.Momentum);
        var oneMinusDamp = new Vector<float>(k.OneMinusDampening); var wd = new Vector<float>(k.WeightDecay);
        // The flags are loop-invariant and perfectly predicted; the loop is memory-bound either way.
        for (; i <= n - w; i += w)
        {
            var pi = Vector.LoadUnsafe(ref rp, (nuint)i);
            var gi = Vector.LoadUnsafe(ref rg, (nuint)i);
            if (k.HasWeightDecay) gi += wd * pi;
            if (k.HasMomentum)
            {
                var b = k.First ? gi : mom * Vector.LoadUnsafe(ref rv, (nuint)i) + oneMinusDamp * gi;
                b.StoreUnsafe(ref rv, (nuint)i);
                gi = k.Nesterov ? gi + mom * b : b;
            }
            (pi + negLr * gi).StoreUnsafe(ref rp, (nuint)i);
        }
        for (; i < n; i++)
        {
            float gi = g[i];
            if (k.HasWeightDecay) gi += k.WeightDecay * p[i];
            if (k.HasMomentum)
            {
                float b = k.First ? gi : k.Momentum * v[i] + k.OneMinusDampening * gi;
                v[i] = b;
                gi = k.Nesterov ? gi + k.Momentum * b : b;
            }
            p[i] += k.NegLr * gi;
        }
    }

    public void AdamStep(Tensor param, Tensor grad, Tensor expAvg, Tensor expAvgSq, Tensor? maxExpAvgSq,
                         double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupledWeightDecay, int step)
    {
        SameLength("adam_step", param, grad, "grad");
        SameLength("adam_step", param, expAvg, "exp_avg");
        SameLength("adam_step", param, expAvgSq, "exp_avg_sq");
        if (maxExpAvgSq is not null) SameLength("adam_step", param, maxExpAvgSq, "max_exp_avg_sq");
        if (step < 1) throw new ArgumentException($"adam_step: step must be ≥ 1 (the count after this update), got {step}");
        var k = new AdamScalars(lr, beta1, beta2, eps, weightDecay, decoupledWeightDecay, step, maxExpAvgSq is not null);
        var pd = Data(param); var gd = Data(grad); var md = Data(expAvg); var vd = Data(expAvgSq);
        var xd = maxExpAvgSq is null ? null : Data(maxExpAvgSq);
        int po = param.Offset, go = grad.Offset, mo = expAvg.Offset, vo = expAvgSq.Offset, xo = maxExpAvgSq?.Offset ?? 0;
        Threading.ForStreaming(param.Numel, (s, e) =>
            AdamRange(pd.AsSpan(po + s, e - s), gd.AsSpan(go + s, e - s), md.AsSpan(mo + s, e - s), vd.AsSpan(vo + s, e - s),
                      xd is null ? default : xd.AsSpan(xo + s, e - s), k));
    }

    /// <summary>The per-step scalars, derived in double as torch.optim.adam's _single_tensor_adam does.</summary>
    internal readonly struct AdamScalars
    {
        public readonly float L2, Shrink, OneMinusBeta1, Beta2, OneMinusBeta2, Bc2Sqrt, Eps, NegStepSize;
        public readonly bool HasL2, Decoupled, Amsgrad;

        public AdamScalars(double lr, double beta1, double beta2, double eps, double weightDecay, bool decoupled, int step, bool amsgrad)
        {
            HasL2 = !decoupled && weightDecay != 0;
            Decoupled = decoupled && weightDecay != 0;
            L2 = (float)weightDecay;
            Shrink = (float)(1 - lr * weightDecay);
            OneMinusBeta1 = (float)(1 - beta1);
            Beta2 = (float)beta2;
            OneMinusBeta2 = (float)(1 - beta2);
            double bc1 = 1 - Math.Pow(beta1, step), bc2 = 1 - Math.Pow(beta2, step);
            Bc2Sqrt = (float)Math.Sqrt(bc2);
            NegStepSize = (float)(-(lr / bc1));
            Eps = (float)eps;
            Amsgrad = amsgrad;
        }
    }

    static void AdamRange(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, Span<float> vmax, in AdamScalars k)
    {
        int n = p.Length, i = 0, w = Vector<float>.Count;
        ref float rp = ref MemoryMarshal.GetReference(p);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float rm = ref MemoryMarshal.GetReference(m);
        ref float rv = ref MemoryMarshal.GetReference(v);
        ref float rx = ref MemoryMarshal.GetReference(vmax);
        var l2 = new Vector<float>(k.L2); var shrink = new Vector<float>(k.Shrink);
        var omb1 = new Vector<float>(k.OneMinusBeta1); var b2 = new Vector<float>(k.Beta2); var omb2 = new Vector<float>(k.OneMinusBeta2);
        var bc2 = new Vector<float>(k.Bc2Sqrt); var eps = new Vector<float>(k.Eps); var negStep = new Vector<float>(k.NegStepSize);
        for (; i <= n - w; i += w)
        {
            var pi = Vector.LoadUnsafe(ref rp, (nuint)i);
            var gi = Vector.LoadUnsafe(ref rg, (nuint)i);
            if (k.HasL2) gi += l2 * pi;
            if (k.Decoupled) pi *= shrink;
            // exp_avg.lerp_(grad, 1 − β1) = m + (1 − β1)(g − m)
            var mi = Vector.LoadUnsafe(ref rm, (nuint)i);
            mi += omb1 * (gi - mi);
            mi.StoreUnsafe(ref rm, (nuint)i);
            var vi = Vector.LoadUnsafe(ref rv, (nuint)i) * b2 + omb2 * gi * gi;
            vi.StoreUnsafe(ref rv, (nuint)i);
            if (k.Amsgrad)
            {
                vi = Vector.Max(Vector.LoadUnsafe(ref rx, (nuint)i), vi);
                vi.StoreUnsafe(ref rx, (nuint)i);
            }
            var denom = Vector.SquareRoot(vi) / bc2 + eps;
            (pi + negStep * (mi / denom)).StoreUnsafe(ref rp, (nuint)i);
        }
        for (; i < n; i++)
        {
            float pi = p[i], gi = g[i];
            if (k.HasL2) gi += k.L2 * pi;
            if (k.Decoupled) pi *= k.Shrink;
            float mi = m[i];
            mi += k.OneMinusBeta1 * (gi - mi);
            m[i] = mi;
            float vi = v[i] * k.Beta2 + k.OneMinusBeta2 * gi * gi;
            v[i] = vi;
            if (k.Amsgrad)
            {
                vi = MathF.Max(vmax[i], vi);
                vmax[i] = vi;
            }
            float denom = MathF.Sqrt(vi) / k.Bc2Sqrt + k.Eps;
            p[i] = pi + k.NegStepSize * (mi / denom);
        }
    }

    public void SquaredNorm(Tensor x, Tensor result, int index)
    {
        if ((uint)index >= (uint)result.Numel)
            throw new ArgumentException($"squared_norm: index {index} is outside a result of {result.Numel} elements");
        var xd = Data(x);
        int xo = x.Offset;
        double total = 0;
        var gate = new object();
        Threading.ForStreaming(x.Numel, (s, e) =>
        {
            double part = SumOfSquares(xd.AsSpan(xo + s, e - s));
            lock (gate) total += part;
        });
        Data(result)[result.Offset + index] = (float)total;
    }

    /// <summary>Σ x² with float vector accumulators over blocks of 4096, the blocks added in double: a million-element
    /// gradient's norm stays accurate to float precision instead of drifting with √n float roundings.
    /// (A hand loop: TensorPrimitives.SumOfSquares costs ~4× more per element on 4096-float slices.)</summary>
    static double SumOfSquares(ReadOnlySpan<float> x)
    {
        const int Block = 4096;
        int w = Vector<float>.Count;
        ref float r = ref MemoryMarshal.GetReference(x);
        double total = 0;
        for (int b = 0; b < x.Length; b += Block)
        {
            int end = Math.Min(x.Length, b + Block), i = b;
            Vector<float> a0 = Vector<float>.Zero, a1 = Vector<float>.Zero;
            for (; i <= end - 2 * w; i += 2 * w)
            {
                var v0 = Vector.LoadUnsafe(ref r, (nuint)i);
                var v1 = Vector.LoadUnsafe(ref r, (nuint)(i + w));
                a0 += v0 * v0; a1 += v1 * v1;
            }
            float tail = 0;
            for (; i < end; i++) tail += x[i] * x[i];
            total += Vector.Sum(a0 + a1) + tail;
        }
        return total;
    }

    internal static void SameLength(string op, Tensor param, Tensor other, string what)
    {
        if (other.Numel != param.Numel)
            throw new ArgumentException($"{op}: {what} has shape {other.Shape}, the parameter {param.Shape}");
    }
}
