using Frugal.Optim;
using Frugal.Tensors;
using static Frugal.Tests.Optim.OptimTestData;

namespace Frugal.Tests.Optim;

/// <summary>SGD trajectories against torch.optim.SGD's update rule evaluated in double in the test.</summary>
public class SgdTests
{
    /// <summary>The documented rule of torch.optim.SGD, step by step in double.</summary>
    static List<double[]> Expected(double lr, double mu, double damp, double wd, bool nesterov, int steps)
    {
        var theta = (double[])Theta0.Clone();
        var buf = new double[theta.Length];
        var res = new List<double[]>();
        for (int t = 1; t <= steps; t++)
        {
            var g = Grad(t);
            for (int i = 0; i < theta.Length; i++)
            {
                double gi = g[i] + wd * theta[i];
                double d = gi;
                if (mu != 0)
                {
                    buf[i] = t == 1 ? gi : mu * buf[i] + (1 - damp) * gi;
                    d = nesterov ? gi + mu * buf[i] : buf[i];
                }
                theta[i] -= lr * d;
            }
            res.Add((double[])theta.Clone());
        }
        return res;
    }

    public static TheoryData<string, double, double, double, double, bool> Cases()
    {
        var data = new TheoryData<string, double, double, double, double, bool>();
        foreach (var dev in TestDevices.Names)
        {
            data.Add(dev, 0.1, 0, 0, 0, false);         // plain
            data.Add(dev, 0.1, 0, 0, 0.05, false);      // weight decay only
            data.Add(dev, 0.05, 0.9, 0, 0, false);      // momentum
            data.Add(dev, 0.05, 0.9, 0.3, 0.01, false); // momentum + dampening + weight decay
            data.Add(dev, 0.05, 0.8, 0, 0.02, true);    // Nesterov + weight decay
        }
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void Trajectory_matches_the_update_rule(string device, double lr, double mu, double damp, double wd, bool nesterov)
    {
        var p = Param(Device.Parse(device));
        var opt = new Sgd([p], lr, momentum: mu, dampening: damp, weightDecay: wd, nesterov: nesterov);
        var got = Run(opt, p, 5);
        var want = Expected(lr, mu, damp, wd, nesterov, 5);
        for (int t = 0; t < 5; t++) Close(want[t], got[t], $"step {t + 1}");
        Assert.Equal(5, opt.Steps);
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void First_momentum_step_copies_the_gradient_without_dampening(string device)
    {
        var p = Param(Device.Parse(device));
        var opt = new Sgd([p], 0.1, momentum: 0.9, dampening: 0.5);
        SetGrad(p, Grad(1));
        opt.Step();
        var g = Grad(1);
        Close(Theta0.Select((v, i) => v - 0.1 * g[i]).ToArray(), p.ToArray(), "θ1");
        Close(g, opt.StateDict()["state.0.momentum_buffer"].ToArray(), "momentum buffer");
        // Second step: buf = 0.9·g1 + 0.5·g2.
        var g2 = Grad(2);
        SetGrad(p, g2);
        opt.Step();
        Close(g.Select((v, i) => 0.9 * v + 0.5 * g2[i]).ToArray(), opt.StateDict()["state.0.momentum_buffer"].ToArray(), "buffer after step 2");
    }

    [Fact]
    public void Parameters_without_gradient_are_skipped()
    {
        var a = Param(Device.Cpu); var b = Param(Device.Cpu);
        var opt = new Sgd([a, b], 0.1, momentum: 0.9);
        SetGrad(a, Grad(1));
        opt.Step();
        Close(Theta0, b.ToArray(), "untouched");
        Assert.DoesNotContain("state.1.momentum_buffer", opt.StateDict().Keys);
        opt.ZeroGrad();
        Assert.Null(a.Grad);
    }

    [Fact]
    public void Bad_hyperparameters_name_the_optimizer_and_value()
    {
        var p = Param(Device.Cpu);
        var e = Assert.Throws<ArgumentException>(() => new Sgd([p], -0.1));
        Assert.Contains("SGD", e.Message); Assert.Contains("-0.1", e.Message); Assert.Contains("learning rate", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1, momentum: -0.5));
        Assert.Contains("SGD", e.Message); Assert.Contains("momentum", e.Message); Assert.Contains("-0.5", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1, weightDecay: -1));
        Assert.Contains("weight decay", e.Message); Assert.Contains("-1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Contains("Nesterov", e.Message); Assert.Contains("0.1", e.Message);
        Assert.Throws<ArgumentException>(() => new Sgd([p], 0.1, nesterov: true));
        e = Assert.Throws<ArgumentException>(() => new Sgd([], 0.1));
        Assert.Contains("no parameters", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Sgd([p, p], 0.1));
        Assert.Contains("twice", e.Message);
        var opt = new Sgd([p], 0.1);
        e = Assert.Throws<ArgumentException>(() => opt.LearningRate = double.NaN);
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void Gradient_of_the_wrong_shape_is_named()
    {
        var p = Param(Device.Cpu);
        p.Name = "fc.weight";
        p.Grad = Tensor.Zeros(2, 2);
        var e = Assert.Throws<InvalidOperationException>(() => new Sgd([p], 0.1).Step());
        Assert.Contains("fc.weight", e.Message); Assert.Contains("[2, 2]", e.Message); Assert.Contains("[19]", e.Message);
    }
}
