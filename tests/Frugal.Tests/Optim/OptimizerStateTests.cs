using Frugal.Optim;
using Frugal.Tensors;
using static Frugal.Tests.Optim.OptimTestData;

namespace Frugal.Tests.Optim;

/// <summary>State dicts: keys as PyTorch names them, and a resumed optimizer continuing bit for bit.</summary>
public class OptimizerStateTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var dev in TestDevices.Names)
            foreach (var kind in new[] { "sgd", "nesterov", "adam", "amsgrad", "adamw" })
                data.Add(dev, kind);
        return data;
    }

    static Optimizer Make(string kind, Tensor[] ps) => kind switch
    {
        "sgd" => new Sgd(ps, 0.05, momentum: 0.9, dampening: 0.2, weightDecay: 0.01),
        "nesterov" => new Sgd(ps, 0.05, momentum: 0.9, nesterov: true),
        "adam" => new Adam(ps, 0.01, weightDecay: 0.1),
        "amsgrad" => new Adam(ps, 0.01, 0.5, 0.9, amsgrad: true),
        _ => new AdamW(ps, 0.01, weightDecay: 0.1),
    };

    [Theory, MemberData(nameof(Cases))]
    public void Resumed_optimizer_continues_identically(string device, string kind)
    {
        var d = Device.Parse(device);
        var a = new[] { Param(d), Param(d, [0.1, 0.2]) };
        var original = Make(kind, a);
        void Feed(Tensor[] ps, int t) { SetGrad(ps[0], Grad(t)); SetGrad(ps[1], Grad(t)[..2]); }
        for (int t = 1; t <= 2; t++) { Feed(a, t); original.Step(); }

        var checkpoint = Clone(original.StateDict());
        var b = a.Select(p => Param(d, p.ToArray().Select(v => (double)v).ToArray())).ToArray();
        var resumed = Make(kind, b);
        resumed.LoadStateDict(checkpoint);
        var fresh = Make(kind, a.Select(p => Param(d, p.ToArray().Select(v => (double)v).ToArray())).ToArray());
        Assert.Equal(2, resumed.Steps);

        for (int t = 3; t <= 5; t++)
        {
            Feed(a, t); original.Step();
            Feed(b, t); resumed.Step();
            Feed(fresh.Parameters.ToArray(), t); fresh.Step();
        }
        for (int i = 0; i < 2; i++) Assert.Equal(a[i].ToArray(), b[i].ToArray());
        Assert.NotEqual(a[0].ToArray(), fresh.Parameters[0].ToArray());    // the state mattered
        var s1 = original.StateDict(); var s2 = resumed.StateDict();
        Assert.Equal(s1.Keys.Order(), s2.Keys.Order());
        foreach (var k in s1.Keys) Assert.Equal(s1[k].ToArray(), s2[k].ToArray());
    }

    [Fact]
    public void Keys_follow_pytorch_names()
    {
        var p = new[] { Param(Device.Cpu), Param(Device.Cpu, [1.0]) };
        var sgd = new Sgd(p, 0.1, momentum: 0.9);
        SetGrad(p[0], Grad(1)); sgd.Step();
        Assert.Equal(["state.0.momentum_buffer", "step"], sgd.StateDict().Keys.Order());

        var adam = new Adam(p, amsgrad: true);
        SetGrad(p[1], [0.5]); adam.Step();
        Assert.Equal(["state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.0.step",
                      "state.1.exp_avg", "state.1.exp_avg_sq", "state.1.max_exp_avg_sq", "state.1.step", "step"],
                     adam.StateDict().Keys.Order());
        Assert.Equal(new Shape(), adam.StateDict()["step"].Shape);
        Assert.Equal(new Shape(19), adam.StateDict()["state.0.exp_avg"].Shape);
    }

    [Fact]
    public void Sgd_without_momentum_has_only_a_step()
    {
        var p = Param(Device.Cpu);
        var opt = new Sgd([p], 0.1);
        SetGrad(p, Grad(1)); opt.Step();
        Assert.Equal(["step"], opt.StateDict().Keys);
    }

    [Fact]
    public void Bad_state_is_rejected_naming_the_key_and_leaves_the_state_alone()
    {
        var p = Param(Device.Cpu);
        var opt = new Adam([p], 0.01);
        SetGrad(p, Grad(1)); opt.Step();
        var good = Clone(opt.StateDict());

        var bad = new Dictionary<string, Tensor>(good) { ["state.0.exp_avg"] = Tensor.Zeros(4) };
        var e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(bad));
        Assert.Contains("'state.0.exp_avg'", e.Message); Assert.Contains("[4]", e.Message); Assert.Contains("[19]", e.Message);

        bad = new Dictionary<string, Tensor>(good) { ["state.0.momentum_buffer"] = Tensor.Zeros(19) };
        e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(bad));
        Assert.Contains("'state.0.momentum_buffer'", e.Message); Assert.Contains("Adam", e.Message);

        bad = new Dictionary<string, Tensor>(good) { ["state.7.exp_avg"] = Tensor.Zeros(19) };
        e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(bad));
        Assert.Contains("'state.7.exp_avg'", e.Message); Assert.Contains("1", e.Message);

        bad = new Dictionary<string, Tensor>(good) { ["lr"] = Tensor.Scalar(1) };
        e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(bad));
        Assert.Contains("'lr'", e.Message);

        bad = new Dictionary<string, Tensor>(good); bad.Remove("step");
        e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(bad));
        Assert.Contains("'step'", e.Message);

        bad = new Dictionary<string, Tensor>(good); bad.Remove("state.0.step");
        e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(bad));
        Assert.Contains("state.0.step", e.Message);

        bad = new Dictionary<string, Tensor>(good) { ["state.0.step"] = Tensor.Scalar(1.5f) };
        e = Assert.Throws<ArgumentException>(() => opt.LoadStateDict(bad));
        Assert.Contains("'state.0.step'", e.Message); Assert.Contains("1.5", e.Message);

        // Still the state of one step: a second step matches a never-interrupted run.
        var q = Param(Device.Cpu);
        var reference = new Adam([q], 0.01);
        Run(reference, q, 2);
        SetGrad(p, Grad(2)); opt.Step();
        Assert.Equal(q.ToArray(), p.ToArray());
    }

    [Fact]
    public void Loading_replaces_state_so_an_absent_parameter_starts_fresh()
    {
        var a = Param(Device.Cpu); var b = Param(Device.Cpu);
        var opt = new Sgd([a, b], 0.1, momentum: 0.9);
        SetGrad(a, Grad(1)); SetGrad(b, Grad(1)); opt.Step();
        var sd = Clone(opt.StateDict());
        sd.Remove("state.1.momentum_buffer");
        opt.LoadStateDict(sd);
        Assert.DoesNotContain("state.1.momentum_buffer", opt.StateDict().Keys);
        // b's next step is a first momentum step again: θ ← θ − lr·g.
        var before = b.ToArray();
        SetGrad(a, Grad(2)); SetGrad(b, Grad(2)); opt.Step();
        Close(before.Select((v, i) => (double)v - 0.1 * Grad(2)[i]).ToArray(), b.ToArray(), "b");
    }
}
