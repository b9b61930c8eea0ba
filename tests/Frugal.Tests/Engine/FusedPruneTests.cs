using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

/// <summary>
/// A <see cref="PruneGradientHook"/> on a batch norm's input: the batch-norm backward prunes its input gradient as it
/// writes it, with the bits of the separate pass, and the engine hands it the prune only where that is the same thing.
/// </summary>
public class FusedPruneTests
{
    /// <summary>Prunes with a fixed plan and counts which path ran.</summary>
    sealed class CountingHook(PrunePlan? plan) : PruneGradientHook
    {
        public int Plans, Applies, Fused;
        public PruneStats Stats;

        public override PrunePlan? Plan() { Plans++; return plan; }

        public override Tensor Apply(Tensor gradient)
        {
            Applies++;
            var p = plan ?? new PrunePlan(PruneKind.Stochastic, 0.05f, 3);
            var (pruned, stats) = p.Kind == PruneKind.Stochastic ? gradient.PruneStochastic(p.Threshold, p.Seed) : gradient.PruneThreshold(p.Threshold);
            Stats = stats;
            return pruned;
        }

        public override void Pruned(PruneStats stats) { Fused++; Stats = stats; }
    }

    public static TheoryData<string, int[]> Shapes()
    {
        var d = new TheoryData<string, int[]>();
        foreach (var dev in TestDevices.Names)
        {
            d.Add(dev, [6, 5]);            // [N, C]: the row-wise kernel
            d.Add(dev, [4, 3, 2, 3]);      // small planes: row-wise
            d.Add(dev, [3, 2, 8, 8]);      // channel-wise, rows of 64
            d.Add(dev, [5, 3, 14, 14]);    // channel-wise, rows of 196: a 16-lane body and a tail
        }
        return d;
    }

    [Theory, MemberData(nameof(Shapes))]
    public void Batch_norm_backward_prunes_its_input_gradient_as_the_separate_pass_would(string device, int[] shape)
    {
        var d = Device.Parse(device);
        int c = shape[1];
        var rm = Tensor.Randn(new Shape(c), new Generator(6), d);
        var rv = Tensor.Uniform(new Shape(c), 0.5f, 2f, new Generator(7), d);
        foreach (var kind in new[] { PruneKind.Stochastic, PruneKind.Threshold })
        foreach (bool relu in new[] { false, true })
        foreach (bool training in new[] { true, false })
        {
            // α within the gradients' magnitudes (≈ 0.1), so both the kept and the pruned branches run.
            var plan = new PrunePlan(kind, 0.02f, 11);
            (float[] Gx, float[] Gw, CountingHook Hook) Run(bool fusable)
            {
                var x = Check.Param(d, 3, shape); var w = Check.Param(d, 4, c); var b = Check.Param(d, 5, c);
                var hook = new CountingHook(plan);
                // The same hook inside a lambda is a plain function, never fused: the reference.
                if (fusable) x.RegisterHook(hook); else x.RegisterHook(g => hook.Apply(g));
                var (mean, var) = training ? (null, null) : (rm, rv);
                var y = relu ? x.BatchNormRelu(w, b, mean, var, training) : x.BatchNorm(w, b, mean, var, training);
                y.Backward(Tensor.Randn(y.Shape, new Generator(8), d).Mul(Tensor.Scalar(0.1f, d)));
                return (x.Grad!.ToArray(), w.Grad!.ToArray(), hook);
            }
            var f = Run(true); var u = Run(false);
            string what = $"{kind} relu={relu} training={training}";
            Assert.True((f.Hook.Fused, f.Hook.Applies, u.Hook.Fused, u.Hook.Applies) == (1, 0, 0, 1), $"{what}: fused {f.Hook.Fused}, applied {f.Hook.Applies}");
            for (int i = 0; i < u.Gx.Length; i++)
                if (!u.Gx[i].Equals(f.Gx[i])) Assert.Fail($"{what} [{i}]: fused {f.Gx[i]}, separate pass {u.Gx[i]}");
            Assert.Equal(u.Gw, f.Gw);
            Assert.InRange(u.Hook.Stats.Zeros, 1, u.Hook.Stats.Elements - 1);     // some pruned, some kept
            Assert.Equal(u.Hook.Stats.Zeros, f.Hook.Stats.Zeros);
            Assert.Equal(u.Hook.Stats.Elements, f.Hook.Stats.Elements);
            Assert.Equal(u.Hook.Stats.Dot, f.Hook.Stats.Dot, 1e-4 * u.Hook.Stats.Dot);
            Assert.Equal(u.Hook.Stats.InputSquares, f.Hook.Stats.InputSquares, 1e-4 * u.Hook.Stats.InputSquares);
            Assert.Equal(u.Hook.Stats.OutputSquares, f.Hook.Stats.OutputSquares, 1e-4 * u.Hook.Stats.OutputSquares);
        }
    }

    static CountingHook Backward(Func<Tensor, Tensor> forward, PrunePlan? plan = null, bool secondHook = false)
    {
        var x = Check.Param(Device.Cpu, 3, 4, 3, 6, 6);
        var hook = new CountingHook(plan ?? new PrunePlan(PruneKind.Threshold, 0.1f, 0));
        x.RegisterHook(hook);
        if (secondHook) x.RegisterHook(g => g);
        var y = forward(x);
        y.Backward(Tensor.Randn(y.Shape, new Generator(8), Device.Cpu));
        Assert.Equal(1, hook.Fused + hook.Applies);
        return hook;
    }

    static Tensor Norm(Tensor x) => x.BatchNorm(null, null, null, null, training: true);

    [Fact]
    public void The_engine_fuses_only_a_sole_hook_with_a_plan_on_a_gradient_the_batch_norm_alone_produces()
    {
        Assert.Equal(1, Backward(Norm).Fused);
        // The input also feeds an Add: its gradient is a sum, so the prune must wait for both parts.
        Assert.Equal(1, Backward(x => Norm(x).Add(x)).Applies);
        // No plan: the hook wants to see the gradient (a threshold fitted to it).
        var noPlan = new CountingHook(null);
        var x = Check.Param(Device.Cpu, 3, 4, 3, 6, 6);
        x.RegisterHook(noPlan);
        Norm(x).Sum().Backward();
        Assert.Equal((1, 1, 0), (noPlan.Plans, noPlan.Applies, noPlan.Fused));
        // Another hook on the tensor: hooks run in order, so none is folded into the producer.
        Assert.Equal(1, Backward(Norm, secondHook: true).Applies);
        // A producer that cannot prune as it writes.
        Assert.Equal(1, Backward(x => x.Relu()).Applies);
    }
}
