using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Tests.Optim;

/// <summary>Schedules against their closed forms, and cosine against PyTorch's recursive (chainable) form.</summary>
public class ScheduleTests
{
    [Fact]
    public void Step_lr_decays_by_gamma_every_step_size()
    {
        var s = new StepLR(0.1, stepSize: 3, gamma: 0.5);
        int[] steps = [0, 2, 3, 5, 6, 9, 30];
        double[] want = [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125, 0.1 * Math.Pow(0.5, 10)];
        for (int i = 0; i < steps.Length; i++) Assert.Equal(want[i], s.LearningRate(steps[i]), 1e-15);
    }

    [Fact]
    public void Cosine_matches_pytorch_recursive_form_and_key_points()
    {
        double baseLr = 0.1, etaMin = 0.001;
        int tMax = 10;
        var s = new CosineAnnealing(baseLr, tMax, etaMin);
        Assert.Equal(baseLr, s.LearningRate(0), 1e-15);
        Assert.Equal((baseLr + etaMin) / 2, s.LearningRate(5), 1e-15);
        Assert.Equal(etaMin, s.LearningRate(10), 1e-15);
        Assert.Equal(baseLr, s.LearningRate(20), 1e-15);   // the cosine continues past T_max
        // torch.optim.lr_scheduler.CosineAnnealingLR.get_lr, iterated.
        double lr = baseLr;
        for (int e = 1; e <= 2 * tMax + 5; e++)
        {
            lr = (e - 1 - tMax) % (2 * tMax) == 0
                ? lr + (baseLr - etaMin) * (1 - Math.Cos(Math.PI / tMax)) / 2
                : (1 + Math.Cos(Math.PI * e / tMax)) / (1 + Math.Cos(Math.PI * (e - 1) / tMax)) * (lr - etaMin) + etaMin;
            Assert.Equal(lr, s.LearningRate(e), 1e-12);
        }
    }

    [Fact]
    public void Linear_warmup_ramps_then_hands_over_from_the_inner_schedule_step_0()
    {
        var s = new LinearWarmup(4, new Constant(0.2), startFactor: 0.25);
        double[] want = [0.05, 0.0875, 0.125, 0.1625, 0.2, 0.2];
        for (int t = 0; t < want.Length; t++) Assert.Equal(want[t], s.LearningRate(t), 1e-15);

        var c = new LinearWarmup(5, new CosineAnnealing(0.1, 10));
        Assert.Equal(0.1 / 3, c.LearningRate(0), 1e-15);               // LinearLR's default start factor
        Assert.Equal(0.1 * (1.0 / 3 + 2.0 / 3 * 3 / 5), c.LearningRate(3), 1e-15);
        Assert.Equal(0.1, c.LearningRate(5), 1e-15);
        Assert.Equal(0.05, c.LearningRate(10), 1e-15);
        Assert.Equal(0, c.LearningRate(15), 1e-15);
        Assert.Equal(0.2, new LinearWarmup(0, new Constant(0.2)).LearningRate(0));
    }

    [Fact]
    public void Schedules_compose_and_apply_to_an_optimizer()
    {
        var s = new LinearWarmup(2, new StepLR(1.0, 2, 0.1), startFactor: 0);
        double[] want = [0, 0.5, 1, 1, 0.1, 0.1, 0.01];
        for (int t = 0; t < want.Length; t++) Assert.Equal(want[t], s.LearningRate(t), 1e-15);
        var p = Tensor.Zeros(1);
        var opt = new Sgd([p], 0.5);
        s.Apply(opt, 4);
        Assert.Equal(0.1, opt.LearningRate, 1e-15);
        Assert.Equal(0.3, new Constant(0.3).LearningRate(1000));
    }

    [Fact]
    public void Bad_arguments_name_the_schedule_and_value()
    {
        var e = Assert.Throws<ArgumentException>(() => new StepLR(0.1, 0));
        Assert.Contains("StepLR", e.Message); Assert.Contains("0", e.Message);
        e = Assert.Throws<ArgumentException>(() => new CosineAnnealing(0.1, -3));
        Assert.Contains("CosineAnnealing", e.Message); Assert.Contains("-3", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Constant(-1));
        Assert.Contains("Constant", e.Message); Assert.Contains("-1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new LinearWarmup(-1, new Constant(1)));
        Assert.Contains("LinearWarmup", e.Message);
        e = Assert.Throws<ArgumentException>(() => new LinearWarmup(3, new Constant(1), startFactor: 1.5));
        Assert.Contains("1.5", e.Message);
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => new StepLR(0.1, 2).LearningRate(-1));
        Assert.Contains("StepLR", r.Message); Assert.Contains("-1", r.Message);
    }
}
