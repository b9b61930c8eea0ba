using Frugal.Optim;
using Frugal.Tensors;
using static Frugal.Tests.Optim.OptimTestData;

namespace Frugal.Tests.Optim;

/// <summary>Adam, AdamW and amsgrad trajectories against the algorithms of the papers (PyTorch's eps placement) in double.</summary>
public class AdamTests
{
    /// <summary>
    /// Kingma &amp; Ba, Algorithm 1: m̂ = m/(1 − β1ᵗ), v̂ = v/(1 − β2ᵗ), θ ← θ − lr·m̂/(√v̂ + eps);
    /// amsgrad keeps vmax = max(vmax, v) and uses it for v; L2 adds λθ to g; decoupled (AdamW) θ ← θ(1 − lr·λ) first.
    /// </summary>
    static List<double[]> Expected(double lr, double b1, double b2, double eps, double wd, bool decoupled, bool amsgrad, int steps)
    {
        var theta = (double[])Theta0.Clone();
        int n = theta.Length;
        var m = new double[n]; var v = new double[n]; var vmax = new double[n];
        var res = new List<double[]>();
        for (int t = 1; t <= steps; t++)
        {
            var g = Grad(t);
            for (int i = 0; i < n; i++)
            {
                double gi = g[i];
                if (decoupled) theta[i] -= lr * wd * theta[i];
                else gi += wd * theta[i];
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                vmax[i] = Math.Max(vmax[i], v[i]);
                double mHat = m[i] / (1 - Math.Pow(b1, t));
                double vHat = (amsgrad ? vmax[i] : v[i]) / (1 - Math.Pow(b2, t));
                theta[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
            res.Add((double[])theta.Clone());
        }
        return res;
    }

    public static TheoryData<string, double, double, double, double, double, bool, bool> Cases()
    {
        var data = new TheoryData<string, double, double, double, double, double, bool, bool>();
        foreach (var dev in TestDevices.Names)
        {
            data.Add(dev, 0.01, 0.9, 0.999, 1e-8, 0, false, false);     // defaults: bias correction dominates early steps
            data.Add(dev, 0.05, 0.8, 0.99, 1e-3, 0, false, false);      // eps large enough to matter
            data.Add(dev, 0.01, 0.9, 0.999, 1e-8, 0.1, false, false);   // L2 in the gradient
            data.Add(dev, 0.01, 0.9, 0.999, 1e-8, 0.1, true, false);    // AdamW decoupled decay
            data.Add(dev, 0.02, 0.5, 0.9, 1e-8, 0, false, true);        // amsgrad with shrinking gradients
            data.Add(dev, 0.02, 0.9, 0.99, 1e-8, 0.2, true, true);      // AdamW + amsgrad
            data.Add(dev, 0.01, 0, 0, 1e-8, 0, false, false);           // β = 0: sign-like steps of size lr
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Trajectory_matches_the_algorithm(string device, double lr, double b1, double b2, double eps, double wd, bool decoupled, bool amsgrad)
    {
        var p = Param(Device.Parse(device));
        Optimizer opt = decoupled
            ? new AdamW([p], lr, b1, b2, eps, wd, amsgrad)
            : new Adam([p], lr, b1, b2, eps, wd, amsgrad);
        var got = Run(opt, p, 5);
        var want = Expected(lr, b1, b2, eps, wd, decoupled, amsgrad, 5);
        for (int t = 0; t < 5; t++) Close(want[t], got[t], $"step {t + 1}");
    }

    [Fact]
    public void First_step_moves_each_coordinate_by_lr_times_the_gradient_sign()
    {
        // With bias correction, m̂1 = g and v̂1 = g², so the first step is lr·g/(|g| + eps) ≈ lr·sign(g).
        var p = Param(Device.Cpu);
        var opt = new Adam([p], 0.01);
        SetGrad(p, Grad(1));
        opt.Step();
        var g = Grad(1);
        Close(Theta0.Select((v, i) => v - 0.01 * g[i] / (Math.Abs(g[i]) + 1e-8)).ToArray(), p.ToArray(), "θ1");
    }

    [Fact]
    public void Amsgrad_differs_from_adam_when_gradients_shrink()
    {
        var a = Param(Device.Cpu); var b = Param(Device.Cpu);
        var pa = Run(new Adam([a], 0.02, 0.5, 0.9), a, 5);
        var pb = Run(new Adam([b], 0.02, 0.5, 0.9, amsgrad: true), b, 5);
        Assert.NotEqual(pa[4], pb[4]);
    }

    [Fact]
    public void AdamW_defaults_to_decay_0_01_and_differs_from_Adam_L2()
    {
        var a = Param(Device.Cpu); var b = Param(Device.Cpu);
        var w = new AdamW([a]);
        Assert.Equal(0.01, w.WeightDecay);
        Assert.Equal("AdamW", w.Name);
        var pa = Run(w, a, 3);
        var pb = Run(new Adam([b], weightDecay: 0.01), b, 3);
        Assert.NotEqual(pa[2], pb[2]);
    }

    [Fact]
    public void A_parameter_skipped_on_early_steps_gets_first_step_bias_correction_later()
    {
        // PyTorch keeps the step per parameter: b is updated first at optimizer step 3, with t = 1.
        var a = Param(Device.Cpu); var b = Param(Device.Cpu);
        var opt = new Adam([a, b], 0.01);
        for (int t = 1; t <= 3; t++)
        {
            SetGrad(a, Grad(t));
            b.Grad = null;
            if (t == 3) SetGrad(b, Grad(1));
            opt.Step();
        }
        var g = Grad(1);
        Close(Theta0.Select((v, i) => v - 0.01 * g[i] / (Math.Abs(g[i]) + 1e-8)).ToArray(), b.ToArray(), "b after its first update");
        var sd = opt.StateDict();
        Assert.Equal(3f, sd["state.0.step"].Item());
        Assert.Equal(1f, sd["state.1.step"].Item());
        Assert.Equal(3f, sd["step"].Item());
    }

    [Fact]
    public void Bad_hyperparameters_name_the_optimizer_and_value()
    {
        var p = Param(Device.Cpu);
        var e = Assert.Throws<ArgumentException>(() => new Adam([p], -1e-3));
        Assert.Contains("Adam", e.Message); Assert.Contains("-0.001", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Adam([p], beta1: 1.0));
        Assert.Contains("Adam", e.Message); Assert.Contains("beta1", e.Message); Assert.Contains("[0, 1)", e.Message);
        e = Assert.Throws<ArgumentException>(() => new AdamW([p], beta2: -0.1));
        Assert.Contains("AdamW", e.Message); Assert.Contains("beta2", e.Message); Assert.Contains("-0.1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Adam([p], eps: -1e-8));
        Assert.Contains("eps", e.Message);
        e = Assert.Throws<ArgumentException>(() => new AdamW([p], weightDecay: -0.01));
        Assert.Contains("AdamW", e.Message); Assert.Contains("weight decay", e.Message); Assert.Contains("-0.01", e.Message);
        Assert.Throws<ArgumentException>(() => new Adam([p], beta1: double.NaN));
    }
}
