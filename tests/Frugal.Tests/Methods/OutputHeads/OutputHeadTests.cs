using Frugal.Autograd;
using Frugal.Methods.OutputHeads;
using Frugal.Ops;
using Frugal.Options;
using Frugal.Runs;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.OutputHeads;

public class OutputHeadTests
{
    static readonly int[] Labels = [0, 2, 1, 2];

    static Tensor Outputs(ulong seed, float scale = 1.5f)
    {
        var y = Tensor.Randn(new Shape(4, 3), new Generator(seed)).Mul(scale).Detach();
        y.RequiresGrad = true;
        return y;
    }

    /// <summary>Clip 0.6 puts part of the outputs past the clip, so the tangent continuation is checked too.</summary>
    [Theory]
    [InlineData(HeadKind.Softmax, 0)]
    [InlineData(HeadKind.LinearMse, 0)]
    [InlineData(HeadKind.LinearMse, 0.6)]
    [InlineData(HeadKind.Exp, 0)]
    [InlineData(HeadKind.Exp, 0.6)]
    [InlineData(HeadKind.ExpBoost, 0)]
    [InlineData(HeadKind.ExpBoost, 0.6)]
    [InlineData(HeadKind.Cube, 0)]
    [InlineData(HeadKind.Cube, 0.6)]
    public void Head_gradient_matches_finite_differences(HeadKind kind, double clip)
    {
        var o = new HeadOptions { Kind = kind, Alpha = 1.5, Clip = clip };
        var r = GradCheck.Check(x => x[0].HeadLoss(Labels, o), [Outputs(3)], eps: 1e-2, tolerance: 5e-3);
        Assert.True(r.Ok, r.Report);
    }

    /// <summary>Each head's gradient is its own error (so a head that fell back to softmax fails), and the batch mean
    /// divides by N: y = [0.5, −1, 2] with label 0, twice.</summary>
    [Fact]
    public void Gradient_is_the_heads_error_on_a_hand_example()
    {
        double[] y = [0.5, -1, 2], e = [-0.5, -1, 2];
        double E(double v) => Math.Exp(v);
        double sum = y.Sum(E);
        var expected = new Dictionary<HeadKind, double[]>
        {
            [HeadKind.Softmax] = [E(0.5) / sum - 1, E(-1) / sum, E(2) / sum],
            [HeadKind.LinearMse] = e,
            [HeadKind.Exp] = [E(0.5) - 1, E(-1), E(2)],
            [HeadKind.ExpBoost] = e.Select(v => Math.Sign(v) * (Math.Exp(2 * Math.Abs(v)) - 1)).ToArray(),
            [HeadKind.Cube] = e.Select(v => v * v * v).ToArray(),
        };
        foreach (var (kind, want) in expected)
        {
            var x = Tensor.FromArray([0.5f, -1, 2, 0.5f, -1, 2], new Shape(2, 3));
            x.RequiresGrad = true;
            x.HeadLoss([0, 0], new HeadOptions { Kind = kind, Alpha = 2, Clip = 0 }).Backward();
            var g = x.Grad!.ToArray();
            for (int i = 0; i < 6; i++) Assert.Equal(want[i % 3] / 2, g[i], 1e-6 * Math.Max(1, Math.Abs(want[i % 3])));
        }
    }

    /// <summary>The tensor kernels agree with the scalar formulas of HeadMath on random outputs, clipped or not, on
    /// every backend.</summary>
    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Tensor_heads_equal_the_scalar_reference(string device)
    {
        var d = Device.Parse(device);
        foreach (var kind in new[] { HeadKind.LinearMse, HeadKind.Exp, HeadKind.ExpBoost, HeadKind.Cube })
        foreach (double clip in new[] { 0, 0.7, 2 })
        {
            var o = new HeadOptions { Kind = kind, Alpha = 0.8, Clip = clip };
            var y = Outputs(11, scale: 2).Detach().To(d);
            y.RequiresGrad = true;
            var loss = y.HeadLoss(Labels, o);
            loss.Backward();
            var v = y.ToArray();
            var g = y.Grad!.ToArray();
            double expected = 0;
            for (int i = 0; i < v.Length; i++)
            {
                double t = Labels[i / 3] == i % 3 ? 1 : 0;
                expected += HeadMath.Loss(kind, v[i], t, o.Alpha, clip) / 4;
                Assert.Equal(HeadMath.Gradient(kind, v[i], t, o.Alpha, clip) / 4, g[i], 4);
            }
            Assert.Equal(expected, loss.Item(), 4);
        }
    }

    /// <summary>Past the clip the error stays the clipped one and the loss continues along its tangent.</summary>
    [Fact]
    public void Clip_bounds_the_error_and_the_loss_continues_linearly()
    {
        // cube, c = 1: y = 3 for a 0 target has e = 3, clipped to 1: error 1 (not 27), loss 1/4 + 1·(3 − 1).
        Assert.Equal(1, HeadMath.Gradient(HeadKind.Cube, 3, 0, 1, 1));
        Assert.Equal(2.25, HeadMath.Loss(HeadKind.Cube, 3, 0, 1, 1), 12);
        Assert.Equal(-1, HeadMath.Gradient(HeadKind.Cube, -2, 1, 1, 1));
        Assert.Equal(27, HeadMath.Gradient(HeadKind.Cube, 3, 0, 1, 0));
        // exp clips only from above: y = 5 has error e¹ − t; y = −5 is left alone.
        Assert.Equal(Math.E - 1, HeadMath.Gradient(HeadKind.Exp, 5, 1, 1, 1), 12);
        Assert.Equal(Math.Exp(-5), HeadMath.Gradient(HeadKind.Exp, -5, 0, 1, 1), 12);
        // exp-boost, α = 2, c = 0.5: error exp(2·0.5) − 1 at any e ≥ 0.5.
        Assert.Equal(Math.E - 1, HeadMath.Gradient(HeadKind.ExpBoost, 4, 0, 2, 0.5), 12);
        // The same through the tensor op.
        var y = Tensor.FromArray([3f, -2f], new Shape(1, 2));
        y.RequiresGrad = true;
        y.HeadLoss([1], new HeadOptions { Kind = HeadKind.Cube, Clip = 1 }).Backward();
        Assert.Equal([1f, -1f], y.Grad!.ToArray());
    }

    [Fact]
    public void Options_are_validated_by_key_and_a_head_section_round_trips_through_json()
    {
        string Key(TrainOptions o) => Assert.Throws<OptionException>(() => o.Validate()).Key;
        Assert.Equal("head.alpha", Key(new() { Head = new() { Kind = HeadKind.ExpBoost, Alpha = 0 } }));
        Assert.Equal("head.alpha", Key(new() { Head = new() { Alpha = double.NaN } }));
        Assert.Equal("head.clip", Key(new() { Head = new() { Clip = -1 } }));
        Assert.Equal("head.kind", Key(new() { Head = new() { Kind = (HeadKind)42 } }));
        var e = Assert.Throws<OptionException>(() => new TrainOptions { Head = new() { Kind = HeadKind.Cube }, LabelSmoothing = 0.1f }.Validate());
        Assert.Equal("label_smoothing", e.Key);
        Assert.Contains("softmax head only", e.Reason);
        new TrainOptions { Head = new(), LabelSmoothing = 0.1f }.Validate();
        Assert.Throws<ArgumentException>(() => OutputHead.Loss(new HeadOptions { Kind = HeadKind.Exp }, labelSmoothing: 0.1f));

        var json = TrainOptions.FromJson("""{"model": "mlp", "head": {"kind": "exp-boost", "alpha": 2, "clip": 1}}""", "test.json");
        Assert.Equal(new HeadOptions { Kind = HeadKind.ExpBoost, Alpha = 2, Clip = 1 }, json.Head);
        Assert.Contains("\"exp-boost\"", json.ToJson());
        Assert.Equal(json.Head, TrainOptions.FromJson(json.ToJson(), "again.json").Head);
        Assert.Null(TrainOptions.FromJson("""{"model": "mlp"}""", "none.json").Head);
        var bad = Assert.Throws<InvalidDataException>(() => TrainOptions.FromJson("""{"head": {"kind": "tanh"}}""", "bad.json"));
        Assert.Contains("head.kind", bad.Message);
    }

    [Fact]
    public void Labels_must_fit_the_outputs()
    {
        var y = Tensor.Zeros(new Shape(2, 3));
        var o = new HeadOptions { Kind = HeadKind.Cube };
        Assert.Contains("out of range for 3 classes", Assert.Throws<ArgumentException>(() => y.HeadLoss([0, 3], o)).Message);
        Assert.Contains("2 labels for outputs", Assert.Throws<ArgumentException>(() => Tensor.Zeros(new Shape(3, 3)).HeadLoss([0, 1], o)).Message);
        Assert.Contains("must be [N, C]", Assert.Throws<ArgumentException>(() => Tensor.Zeros(new Shape(6)).HeadLoss([0], o)).Message);
    }
}
