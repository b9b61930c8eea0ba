using Frugal.Methods.Approximate;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Methods.Approximate;

public class ApproxLayerTests
{
    static readonly ApproxMode[] Modes = [ApproxMode.Forward, ApproxMode.Backward, ApproxMode.Hybrid];

    static IEnumerable<IColumnSampler> AllSamplers() => [new CrsSampler(), new BernoulliSampler(), new TopKSampler()];

    static (Tensor Y, float[] Gx, float[] Gw, float[]? Gb) Run(Module layer, Tensor x, Tensor gy, Tensor weight, Tensor? bias)
    {
        x.Grad = null; weight.Grad = null;
        if (bias != null) bias.Grad = null;
        var y = layer.Call(x);
        y.Backward(gy);
        return (y, x.Grad!.ToArray(), weight.Grad!.ToArray(), bias?.Grad!.ToArray());
    }

    static void SameBits(Module exact, Module approx, Tensor x, Tensor weight, Tensor? bias, string what)
    {
        var y0 = exact.Call(x);
        var gy = Tensor.Randn(y0.Shape, new Generator(9));
        var e = Run(exact, x, gy, weight, bias);
        var a = Run(approx, x, gy, weight, bias);
        Assert.Equal(e.Y.ToArray(), a.Y.ToArray());
        Assert.Equal(e.Gx, a.Gx);
        Assert.Equal(e.Gw, a.Gw);
        if (bias != null) Assert.Equal(e.Gb!, a.Gb!);
        _ = what;
    }

    [Fact]
    public void Keep_one_reproduces_the_exact_layers_bit_for_bit()
    {
        var x = Check.Param(Device.Cpu, 1, 6, 40);
        var xc = Check.Param(Device.Cpu, 2, 4, 12, 9, 9);
        foreach (var sampler in AllSamplers())
            foreach (var mode in Modes)
            {
                var lin = new Linear(40, 24, generator: new Generator(3));
                SameBits(lin, new ApproxLinear(lin, new ApproxSettings(sampler, 1.0, 1, mode), new Generator(4)), x, lin.Weight, lin.Bias, $"linear {sampler.Name} {mode}");
                var conv = new Conv2d(12, 16, 3, padding: 1, generator: new Generator(5));
                SameBits(conv, new ApproxConv2d(conv, new ApproxSettings(sampler, 1.0, 1, mode), new Generator(6)), xc, conv.Weight, conv.Bias, $"conv {sampler.Name} {mode}");
                // minimal_k ≥ n is exact too (the reference's thin-stem rule).
                var stem = new Conv2d(3, 8, 3, generator: new Generator(7));
                var xs = Check.Param(Device.Cpu, 8, 2, 3, 6, 6);
                SameBits(stem, new ApproxConv2d(stem, new ApproxSettings(sampler, 0.3, 10, mode), new Generator(6)), xs, stem.Weight, stem.Bias, "stem");
            }
    }

    [Fact]
    public void Evaluation_is_exact_and_training_is_not()
    {
        var lin = new Linear(64, 16, generator: new Generator(1));
        var conv = new Conv2d(16, 8, 3, padding: 1, generator: new Generator(2));
        var x = Tensor.Randn(new Shape(8, 64), new Generator(3));
        var xc = Tensor.Randn(new Shape(2, 16, 5, 5), new Generator(4));
        foreach (var mode in Modes)
        {
            var al = new ApproxLinear(lin, new ApproxSettings(new CrsSampler(), 0.3, 1, mode), new Generator(5));
            var ac = new ApproxConv2d(conv, new ApproxSettings(new CrsSampler(), 0.3, 1, mode), new Generator(6));
            var el = lin.Call(x).ToArray();
            var ec = conv.Call(xc).ToArray();
            al.Eval(); ac.Eval();
            Assert.Equal(el, al.Call(x).ToArray());
            Assert.Equal(ec, ac.Call(xc).ToArray());
            Assert.Equal(0, al.Stats.Forward.Calls);
            al.Train(); ac.Train();
            if (mode == ApproxMode.Backward) continue;   // backward mode's forward is exact by design
            Assert.NotEqual(el, al.Call(x).ToArray());
            Assert.NotEqual(ec, ac.Call(xc).ToArray());
            Assert.True(al.Stats.Forward.MeanK < 64 && ac.Stats.Forward.MeanK < 16);
        }
    }

    /// <summary>A fixed choice for any dimension n: every index but those ≡ 1 (mod 3), with unequal scales 0.5, 1, 1.5, …
    /// (as CRS gives when it merges repeated draws).</summary>
    static ColumnSample Frozen(int n)
    {
        var idx = Enumerable.Range(0, n).Where(i => i % 3 != 1).ToArray();
        return new ColumnSample(idx, idx.Select((_, j) => 0.5f + 0.5f * j).ToArray());
    }

    static ApproxSettings FrozenSettings(ApproxMode mode) => new(new FixedSampler(Frozen), 0.5, 1, mode);

    [Fact]
    public void Forward_sampling_gradients_with_sampling_frozen()
    {
        // Batch 6 > 5 outputs: the scale goes on the weight; batch 4 ≤ 5: on the activations.
        foreach (int batch in new[] { 6, 4 })
        {
            var lin = new Linear(7, 5, generator: new Generator(1));
            var al = new ApproxLinear(lin, FrozenSettings(ApproxMode.Forward));
            var x = Check.Param(Device.Cpu, 2, batch, 7);
            Check.Gradients(t => al.Call(t[0]), x, lin.Weight, lin.Bias!);
            // Only the kept columns get gradients.
            x.Grad = null; lin.Weight.Grad = null;
            al.Call(x).Sum().Backward();
            foreach (var dropped in new[] { 1, 4 })
            {
                for (int r = 0; r < batch; r++) Assert.Equal(0f, x.Grad!.ToArray()[r * 7 + dropped]);
                for (int o = 0; o < 5; o++) Assert.Equal(0f, lin.Weight.Grad!.ToArray()[o * 7 + dropped]);
            }
        }
        var conv = new Conv2d(7, 5, 3, padding: 1, generator: new Generator(3));
        var ac = new ApproxConv2d(conv, FrozenSettings(ApproxMode.Forward));
        Check.Gradients(t => ac.Call(t[0]), Check.Param(Device.Cpu, 4, 2, 7, 4, 4), conv.Weight, conv.Bias!);
    }

    /// <summary>
    /// Where the backend has direct kernels, forward-mode ApproxConv2d convolves the kept channels in place
    /// (<see cref="SampledInputsConv2dFn"/>): the same numbers, to the bit, as gathering x[:, S] and w[:, S]·diag(s) into
    /// smaller tensors and convolving those (the same products in the same order), gradients zero outside S. The output's
    /// node shows which path ran, so the test fails if the layer silently went back to gathering. 13 channels with 5
    /// dropped, 6 outputs and 7×9 images leave partial register tiles everywhere.
    /// </summary>
    [Fact]
    public void Forward_sampled_convolution_reads_the_kept_channels_in_place_with_the_gathered_numbers()
    {
        // No direct kernel: the layer gathers, as the other tests check.
        if (!Frugal.Tests.Engine.ConvTests.HasDirectKernels(new Frugal.Backends.Window2d(7, 9, 3, 3, PadH: 1, PadW: 1))) return;
        const int c = 13;
        var conv = new Conv2d(c, 6, 3, padding: 1, generator: new Generator(3));
        var x = Check.Param(Device.Cpu, 4, 3, c, 7, 9);
        var gy = Tensor.Randn(new Shape(3, 6, 7, 9), new Generator(5));
        var sample = Frozen(c);
        var layer = new ApproxConv2d(conv, FrozenSettings(ApproxMode.Forward));
        var y = layer.Call(x);
        Assert.IsType<SampledInputsConv2dFn>(y.GradFn);
        var fused = Run(layer, x, gy, conv.Weight, conv.Bias);
        x.Grad = null; conv.Weight.Grad = null; conv.Bias!.Grad = null;
        var yg = TermSampling.Gather(x, 1, sample, scaled: false)
            .Conv2d(TermSampling.Gather(conv.Weight, 1, sample, scaled: true), conv.Bias, padding: 1);
        yg.Backward(gy);
        Assert.Equal(yg.ToArray(), fused.Y.ToArray());
        Assert.Equal(x.Grad!.ToArray(), fused.Gx);
        Assert.Equal(conv.Weight.Grad!.ToArray(), fused.Gw);
        Assert.Equal(conv.Bias.Grad!.ToArray(), fused.Gb!);
        foreach (var dropped in Enumerable.Range(0, c).Except(sample.Indices))
        {
            Assert.All(fused.Gx.Where((_, i) => i / 63 % c == dropped), v => Assert.Equal(0f, v));
            Assert.All(fused.Gw.Where((_, i) => i / 9 % c == dropped), v => Assert.Equal(0f, v));
        }
        Assert.Contains(fused.Gx, v => v != 0);
    }

    /// <summary>
    /// Forward sampling with a frozen choice S (channels 0, 2, 3, 5, 6 of 7, scales s = 0.5, 1, …, 2.5) computes
    /// y[n,o,r,q] = b[o] + Σ_j s_j Σ_(u,v) W[o, S_j, u, v]·x[n, S_j, r+u−1, q+v−1], evaluated here by plain loops in double:
    /// the scale enters once. A deterministic check beside the statistical one (unbiasedness over 300 draws); the gradient
    /// check above holds for whatever the forward computes.
    /// </summary>
    [Theory]
    [InlineData(ApproxMode.Forward)]
    [InlineData(ApproxMode.Hybrid)]
    public void Forward_sampling_with_sampling_frozen_convolves_the_gathered_input_with_the_scaled_gathered_kernel(ApproxMode mode)
    {
        const int n = 2, c = 7, cout = 5, h = 5, w = 6;
        var conv = new Conv2d(c, cout, 3, padding: 1, generator: new Generator(3));
        var x = Check.Param(Device.Cpu, 4, n, c, h, w);
        var y = new ApproxConv2d(conv, FrozenSettings(mode)).Call(x).ToArray();
        var sample = Frozen(c);
        float[] xv = x.ToArray(), wv = conv.Weight.ToArray(), bv = conv.Bias!.ToArray();
        var expected = new float[n * cout * h * w];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int r = 0; r < h; r++)
                    for (int q = 0; q < w; q++)
                    {
                        double sum = bv[o];
                        for (int j = 0; j < sample.Count; j++)
                        {
                            int ch = sample.Indices[j];
                            for (int u = 0; u < 3; u++)
                                for (int v = 0; v < 3; v++)
                                {
                                    int sr = r + u - 1, sq = q + v - 1;
                                    if (sr < 0 || sr >= h || sq < 0 || sq >= w) continue;
                                    sum += sample.Scales![j] * (double)wv[((o * c + ch) * 3 + u) * 3 + v] * xv[((b * c + ch) * h + sr) * w + sq];
                                }
                        }
                        expected[((b * cout + o) * h + r) * w + q] = (float)sum;
                    }
        Check.Close(expected, y, what: $"{mode} forward");
    }

    /// <summary>Backward sampling with a frozen choice computes dX = dY[:,S]·diag(s)·W[S,:] and dW = (diag(s)·dY[B,:])ᵀ·X[B,:]:
    /// compared with those formulas evaluated by exact ops; db stays exact.</summary>
    [Fact]
    public void Backward_sampling_with_sampling_frozen_computes_the_sampled_products()
    {
        // (batch, in, out) = (6, 7, 5) scales dY in both products; (9, 4, 11) scales W[S,:] for dX and X[B,:] for dW.
        foreach (var (nb, nin, nout) in new[] { (6, 7, 5), (9, 4, 11) })
        {
            var lin = new Linear(nin, nout, generator: new Generator(1));
            var x = Check.Param(Device.Cpu, 2, nb, nin);
            var gy = Tensor.Randn(new Shape(nb, nout), new Generator(3));
            var (_, gx, gw, gb) = Run(new ApproxLinear(lin, FrozenSettings(ApproxMode.Backward)), x, gy, lin.Weight, lin.Bias);
            var so = Frozen(nout); var sb = Frozen(nb);
            var w = lin.Weight.Detach();
            var refGx = gy.IndexSelect(1, so.Indices).Matmul(w.IndexSelect(0, so.Indices).Mul(Tensor.FromArray(so.Scales!, new Shape(so.Count, 1))));
            var gB = gy.IndexSelect(0, sb.Indices).Mul(Tensor.FromArray(sb.Scales!, new Shape(sb.Count, 1)));
            var refGw = gB.Transpose(0, 1).Matmul(x.Detach().IndexSelect(0, sb.Indices));
            Check.Close(refGx.ToArray(), gx, what: "dX");
            Check.Close(refGw.ToArray(), gw, what: "dW");
            Check.Close(gy.Sum(0).ToArray(), gb!, what: "db");
        }

        var conv = new Conv2d(7, 5, 3, padding: 1, generator: new Generator(4));
        var so5 = Frozen(5); var sb6 = Frozen(6);
        var xc = Check.Param(Device.Cpu, 5, 6, 7, 4, 4);
        var gyc = Tensor.Randn(new Shape(6, 5, 4, 4), new Generator(6));
        var (_, cgx, cgw, cgb) = Run(new ApproxConv2d(conv, FrozenSettings(ApproxMode.Backward)), xc, gyc, conv.Weight, conv.Bias);
        // dX: the input gradient of conv(x, W[S]) under upstream dY[:,S]·diag(s), by autograd on the exact op.
        var x2 = xc.Detach(); x2.RequiresGrad = true;
        var ws = conv.Weight.Detach().IndexSelect(0, so5.Indices);
        x2.Conv2d(ws, null, padding: 1).Mul(gyc.IndexSelect(1, so5.Indices).Mul(Tensor.FromArray(so5.Scales!, new Shape(1, so5.Count, 1, 1)))).Sum().Backward();
        Check.Close(x2.Grad!.ToArray(), cgx, what: "conv dX");
        // dW: the weight gradient of conv(X[B], W) under upstream diag(s)·dY[B].
        var w2 = conv.Weight.Detach(); w2.RequiresGrad = true;
        xc.Detach().IndexSelect(0, sb6.Indices).Conv2d(w2, null, padding: 1)
            .Mul(gyc.IndexSelect(0, sb6.Indices).Mul(Tensor.FromArray(sb6.Scales!, new Shape(sb6.Count, 1, 1, 1)))).Sum().Backward();
        Check.Close(w2.Grad!.ToArray(), cgw, what: "conv dW");
        Check.Close(gyc.Sum([0, 2, 3]).ToArray(), cgb!, what: "conv db");
    }

    /// <summary>
    /// For a fixed upstream gradient, every mode's gradients are unbiased with CRS and Bernoulli: the mean over M draws
    /// approaches the exact gradient with E‖mean − exact‖² = E‖err‖²/M (checked at 3×, as in SamplerTests). Top-k,
    /// biased, is the control: its error does not average away.
    /// </summary>
    [Fact]
    public void Sampled_gradients_are_unbiased_in_every_mode()
    {
        const int M = 300;
        var lin = new Linear(24, 12, generator: new Generator(1));
        var conv = new Conv2d(8, 6, 3, padding: 1, generator: new Generator(2));
        var x = Check.Param(Device.Cpu, 3, 16, 24);
        var xc = Check.Param(Device.Cpu, 4, 8, 8, 5, 5);
        foreach (var (exact, input) in new (Module, Tensor)[] { (lin, x), (conv, xc) })
        {
            var weight = exact is Linear l ? l.Weight : ((Conv2d)exact).Weight;
            var bias = exact is Linear l2 ? l2.Bias : ((Conv2d)exact).Bias;
            var gy = Tensor.Randn(exact.Call(input).Shape, new Generator(5));
            var e = Run(exact, input, gy, weight, bias);
            foreach (var sampler in new IColumnSampler[] { new CrsSampler(), new BernoulliSampler(), new TopKSampler() })
                foreach (var mode in Modes)
                {
                    var settings = new ApproxSettings(sampler, 0.4, 1, mode);
                    Module approx = exact is Linear el ? new ApproxLinear(el, settings, new Generator(7)) : new ApproxConv2d((Conv2d)exact, settings, new Generator(7));
                    var mx = new double[e.Gx.Length]; var mw = new double[e.Gw.Length];
                    double errSq = 0;
                    for (int t = 0; t < M; t++)
                    {
                        var a = Run(approx, input, gy, weight, bias);
                        for (int i = 0; i < mx.Length; i++) { mx[i] += a.Gx[i] / (double)M; errSq += Sq(a.Gx[i] - e.Gx[i]) / M; }
                        for (int i = 0; i < mw.Length; i++) { mw[i] += a.Gw[i] / (double)M; errSq += Sq(a.Gw[i] - e.Gw[i]) / M; }
                    }
                    double bias2 = mx.Select((v, i) => Sq(v - e.Gx[i])).Sum() + mw.Select((v, i) => Sq(v - e.Gw[i])).Sum();
                    string what = $"{exact.GetType().Name} {sampler.Name} {mode}: ‖mean − exact‖² = {bias2:G3}, E‖err‖²/M ≈ {errSq / M:G3}";
                    if (sampler.Unbiased) Assert.True(bias2 <= 3 * errSq / M, what);
                    else Assert.True(bias2 > 3 * errSq / M, "control: " + what);
                }
        }
    }

    static double Sq(double v) => v * v;

    [Fact]
    public void Same_seed_same_samples_and_outputs()
    {
        var lin = new Linear(40, 8, generator: new Generator(1));
        var x = Tensor.Randn(new Shape(4, 40), new Generator(2));
        foreach (var sampler in AllSamplers())
        {
            var a = new ApproxLinear(lin, new ApproxSettings(sampler, 0.3, 1), new Generator(11)).Call(x).ToArray();
            var b = new ApproxLinear(lin, new ApproxSettings(sampler, 0.3, 1), new Generator(11)).Call(x).ToArray();
            Assert.Equal(a, b);
        }
    }

    [Fact]
    public void State_dict_keys_and_parameters_are_the_exact_layers()
    {
        var lin = new Linear(10, 4, generator: new Generator(1));
        var al = new ApproxLinear(lin, new ApproxSettings(new TopKSampler()));
        Assert.Equal(lin.StateDict().Select(p => p.Key), al.StateDict().Select(p => p.Key));
        Assert.Same(lin.Weight, al.Parameters().First());
        var conv = new Conv2d(4, 4, 3, groups: 2, generator: new Generator(2));
        Assert.Contains("groups=1", Assert.Throws<ArgumentException>(() => new ApproxConv2d(conv, new ApproxSettings(new TopKSampler()))).Message);
    }
}
