using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Tests.Engine;

public class ConvTests
{
    /// <summary>One convolution configuration: input [N, C, H, W], weight [Cout, C/groups, KH, KW].</summary>
    public sealed record Cfg(int N, int C, int H, int W, int Cout, int KH, int KW, (int H, int W) Stride, (int H, int W) Pad,
        int Groups = 1, (int H, int W)? Dil = null, bool Bias = true)
    {
        public (int H, int W) D => Dil ?? (1, 1);
        public int OH => (H + 2 * Pad.H - D.H * (KH - 1) - 1) / Stride.H + 1;
        public int OW => (W + 2 * Pad.W - D.W * (KW - 1) - 1) / Stride.W + 1;
        public override string ToString() =>
            $"x[{N},{C},{H},{W}] w[{Cout},{C / Groups},{KH},{KW}] s{Stride} p{Pad} g{Groups} d{D}{(Bias ? " bias" : "")}";
    }

    /// <summary>Direct definition: y[n, o, i, j] = b[o] + Σ_{c in o's group} Σ_{ki, kj} x[n, c, i·s − p + ki·d, j·s − p + kj·d]·w[o, c', ki, kj].</summary>
    static float[] NaiveConv(Cfg g, float[] x, float[] w, float[]? b)
    {
        int cg = g.C / g.Groups, og = g.Cout / g.Groups;
        var y = new float[g.N * g.Cout * g.OH * g.OW];
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.Cout; o++)
                for (int i = 0; i < g.OH; i++)
                    for (int j = 0; j < g.OW; j++)
                    {
                        double s = b?[o] ?? 0;
                        for (int ci = 0; ci < cg; ci++)
                            for (int ki = 0; ki < g.KH; ki++)
                                for (int kj = 0; kj < g.KW; kj++)
                                {
                                    int c = o / og * cg + ci;
                                    int ih = i * g.Stride.H - g.Pad.H + ki * g.D.H, iw = j * g.Stride.W - g.Pad.W + kj * g.D.W;
                                    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                    s += x[((n * g.C + c) * g.H + ih) * g.W + iw] * w[((o * cg + ci) * g.KH + ki) * g.KW + kj];
                                }
                        y[((n * g.Cout + o) * g.OH + i) * g.OW + j] = (float)s;
                    }
        return y;
    }

    /// <summary>The adjoint loops of <see cref="NaiveConv"/>: dx and dw for an upstream gradient gy.</summary>
    internal static (float[] Dx, float[] Dw) NaiveConvBackward(Cfg g, float[] x, float[] w, float[] gy)
    {
        int cg = g.C / g.Groups, og = g.Cout / g.Groups;
        var dx = new double[x.Length]; var dw = new double[w.Length];
        for (int n = 0; n < g.N; n++)
            for (int o = 0; o < g.Cout; o++)
                for (int i = 0; i < g.OH; i++)
                    for (int j = 0; j < g.OW; j++)
                    {
                        double gv = gy[((n * g.Cout + o) * g.OH + i) * g.OW + j];
                        for (int ci = 0; ci < cg; ci++)
                            for (int ki = 0; ki < g.KH; ki++)
                                for (int kj = 0; kj < g.KW; kj++)
                                {
                                    int c = o / og * cg + ci;
                                    int ih = i * g.Stride.H - g.Pad.H + ki * g.D.H, iw = j * g.Stride.W - g.Pad.W + kj * g.D.W;
                                    if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                                    int xi = ((n * g.C + c) * g.H + ih) * g.W + iw, wi = ((o * cg + ci) * g.KH + ki) * g.KW + kj;
                                    dx[xi] += gv * w[wi];
                                    dw[wi] += gv * x[xi];
                                }
                    }
        return (dx.Select(v => (float)v).ToArray(), dw.Select(v => (float)v).ToArray());
    }

    static Cfg[] ForwardConfigs =>
    [
        new(2, 3, 5, 5, 4, 3, 3, (1, 1), (0, 0)),
        new(2, 3, 5, 5, 4, 3, 3, (1, 1), (1, 1)),                   // "same": the shifted-block im2col path
        new(2, 3, 6, 5, 4, 3, 3, (2, 2), (1, 1)),
        new(2, 2, 5, 5, 3, 3, 3, (1, 1), (2, 2)),
        new(1, 2, 7, 6, 2, 3, 3, (2, 2), (2, 2), Bias: false),
        new(2, 4, 5, 5, 6, 3, 3, (1, 1), (1, 1), Groups: 2),
        new(2, 3, 5, 5, 3, 3, 3, (1, 1), (1, 1), Groups: 3),        // depthwise
        new(2, 3, 5, 5, 6, 3, 3, (2, 2), (1, 1), Groups: 3),        // depthwise, channel multiplier 2
        new(2, 3, 5, 6, 4, 2, 3, (2, 1), (1, 0)),                   // non-square kernel, stride, padding
        new(2, 4, 5, 5, 6, 1, 1, (1, 1), (0, 0)),                   // 1×1: plain GEMM, no im2col
        new(2, 4, 5, 5, 6, 1, 1, (1, 1), (0, 0), Groups: 2),
        new(2, 4, 5, 5, 3, 1, 1, (2, 2), (0, 0)),                   // 1×1 at stride 2 goes through im2col
        new(2, 2, 7, 7, 3, 3, 3, (1, 1), (2, 2), Dil: (2, 2)),      // dilation
        new(2, 2, 7, 6, 3, 3, 2, (1, 2), (1, 0), Dil: (2, 1)),
        new(1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0)),                   // everything of size 1
        new(2, 1, 1, 1, 3, 3, 3, (1, 1), (1, 1)),                   // 1×1 image, 3×3 kernel, all padding but the centre
        new(2, 2, 3, 3, 2, 3, 3, (1, 1), (0, 0)),                   // kernel = input: 1×1 output
        new(1, 1, 4, 4, 1, 3, 3, (3, 3), (0, 0)),
    ];

    /// <summary>Larger cases: both GEMM layouts (per-image for thin layers, C·kh·kw &lt; 64, with ≥ 512 output pixels;
    /// stacked otherwise) and batches split into several chunks.</summary>
    static Cfg[] LargeConfigs =>
    [
        new(20, 3, 6, 6, 5, 3, 3, (1, 1), (1, 1)),                  // stacked, chunks of 16 + 4
        new(19, 4, 8, 8, 6, 3, 3, (2, 2), (1, 1), Groups: 2),       // stacked, grouped, 16 + 3
        new(27, 16, 24, 24, 2, 3, 3, (1, 1), (1, 1)),               // stacked, 3 chunks of 12, 12, 3 (16·9·576 floats per image)
        new(3, 2, 24, 24, 3, 3, 3, (1, 1), (1, 1)),                 // per-image, shifted-block im2col
        new(3, 2, 25, 26, 4, 3, 3, (1, 1), (0, 0), Groups: 2),      // per-image, row by row
        new(60, 7, 24, 24, 2, 3, 3, (1, 1), (1, 1)),                // per-image, 2 chunks (7·9·576 floats per image)
        new(3, 6, 24, 24, 6, 1, 1, (1, 1), (0, 0), Groups: 3),      // 1×1: no im2col
        // Direct stride-1 kernels (AVX-512): channel tiles of 8 + 4 + a padded one, partial position tiles, odd batches
        // (weight-gradient chunks of 2 images), and tap counts that are not multiples of the 3-tap weight tile.
        new(5, 3, 9, 11, 13, 3, 3, (1, 1), (1, 1)),
        new(3, 2, 10, 7, 5, 5, 5, (1, 1), (2, 2)),
        new(3, 4, 6, 9, 6, 1, 3, (1, 1), (0, 1)),
        new(4, 3, 8, 8, 8, 2, 2, (1, 1), (1, 1)),
        new(2, 32, 28, 28, 8, 3, 3, (1, 1), (1, 1)),                // the cnn's 32-channel 28×28 layer, fewer outputs
    ];

    public static TheoryData<string, int> Forward() => Cases(ForwardConfigs.Length);
    public static TheoryData<string, int> Large() => Cases(LargeConfigs.Length);

    static TheoryData<string, int> Cases(int n)
    {
        var d = new TheoryData<string, int>();
        foreach (var dev in TestDevices.Names)
            for (int i = 0; i < n; i++) d.Add(dev, i);
        return d;
    }

    static (Tensor X, Tensor W, Tensor? B) Operands(Device d, Cfg g, ulong seed)
    {
        var x = Check.Param(d, seed, g.N, g.C, g.H, g.W);
        var w = Check.Param(d, seed + 1, g.Cout, g.C / g.Groups, g.KH, g.KW);
        var b = g.Bias ? Check.Param(d, seed + 2, g.Cout) : null;
        return (x, w, b);
    }

    static Tensor Apply(Tensor x, Tensor w, Tensor? b, Cfg g) => x.Conv2d(w, b, g.Stride, g.Pad, g.Groups, g.D);

    [Theory, MemberData(nameof(Forward))]
    public void Forward_matches_naive_loops(string device, int index)
    {
        var g = ForwardConfigs[index];
        var (x, w, b) = Operands(Device.Parse(device), g, 10);
        var y = Apply(x, w, b, g);
        Assert.Equal(new Shape(g.N, g.Cout, g.OH, g.OW), y.Shape);
        Check.Close(NaiveConv(g, x.ToArray(), w.ToArray(), b?.ToArray()), y.ToArray(), 1e-4f, 1e-4f, g.ToString());
    }

    [Theory, MemberData(nameof(Forward))]
    public void Gradients_of_input_weight_and_bias(string device, int index)
    {
        var g = ForwardConfigs[index];
        var (x, w, b) = Operands(Device.Parse(device), g, 20);
        if (b != null) Check.Gradients(t => Apply(t[0], t[1], t[2], g), x, w, b);
        else Check.Gradients(t => Apply(t[0], t[1], null, g), x, w);
    }

    [Theory, MemberData(nameof(Large))]
    public void Chunked_forward_and_backward_match_naive_loops(string device, int index)
    {
        var g = LargeConfigs[index];
        var d = Device.Parse(device);
        var (x, w, b) = Operands(d, g, 30);
        var y = Apply(x, w, b, g);
        Check.Close(NaiveConv(g, x.ToArray(), w.ToArray(), b?.ToArray()), y.ToArray(), 1e-4f, 1e-4f, g.ToString());
        var gy = Tensor.Randn(y.Shape, new Generator(5), d);
        y.Backward(gy);
        var (dx, dw) = NaiveConvBackward(g, x.ToArray(), w.ToArray(), gy.ToArray());
        Check.Close(dx, x.Grad!.ToArray(), 1e-3f, 1e-4f, $"dx {g}");
        Check.Close(dw, w.Grad!.ToArray(), 1e-3f, 1e-4f, $"dw {g}");
        var gyh = gy.ToArray();
        var db = new float[g.Cout];
        for (int i = 0; i < gyh.Length; i++) db[i / (g.OH * g.OW) % g.Cout] += gyh[i];
        Check.Close(db, b!.Grad!.ToArray(), 1e-3f, 1e-4f, $"db {g}");
    }

    /// <summary>The direct kernels against im2col + GEMM on the cnn's layers (both paths are exact convolutions; they
    /// differ only in summation order). Where neither AVX-512 nor AVX2 + FMA is present the direct path must report itself unavailable.</summary>
    [Theory]
    [InlineData(1, 32), InlineData(32, 32), InlineData(32, 64)]
    public void Direct_kernels_match_im2col_and_gemm(int c, int cout)
    {
        var win = new Frugal.Backends.Window2d(14, 14, 3, 3, PadH: 1, PadW: 1);
        bool vectorUnits = System.Runtime.Intrinsics.X86.Avx512F.IsSupported
            || System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported;
        if (!vectorUnits) { Assert.False(Frugal.Backends.Cpu.CpuBackend.DirectConvApplies(win)); return; }
        Assert.True(Frugal.Backends.Cpu.CpuBackend.DirectConvApplies(win));
        var g = new Cfg(3, c, 14, 14, cout, 3, 3, (1, 1), (1, 1));
        (float[] Y, float[] Dx, float[] Dw, float[] Db) Run(bool direct)
        {
            Frugal.Backends.Cpu.CpuBackend.DirectConvEnabled = direct;
            try
            {
                var (x, w, b) = Operands(Device.Cpu, g, 50);
                var y = Apply(x, w, b, g);
                y.Backward(Tensor.Randn(y.Shape, new Generator(6)));
                return (y.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray(), b!.Grad!.ToArray());
            }
            finally { Frugal.Backends.Cpu.CpuBackend.DirectConvEnabled = true; }
        }
        var direct = Run(true); var gemm = Run(false);
        // The op takes the direct kernel: its output is the kernel's to the bit, and not im2col + GEMM's (which sums
        // in another order), so this test fails if Conv2d silently stopped calling it.
        var (x0, w0, b0) = Operands(Device.Cpu, g, 50);
        var y0 = Tensor.Uninitialized(new Shape(g.N, g.Cout, g.OH, g.OW), Device.Cpu);
        Assert.True(x0.Backend.TryConv2dDirect(x0, w0, b0, win, y0));
        Assert.Equal(y0.ToArray(), direct.Y);
        Assert.NotEqual(gemm.Y, direct.Y);
        Check.Close(gemm.Y, direct.Y, 1e-4f, 1e-4f, "y");
        Check.Close(gemm.Dx, direct.Dx, 1e-4f, 1e-4f, "dx");
        Check.Close(gemm.Dw, direct.Dw, 1e-3f, 1e-4f, "dw");
        Check.Close(gemm.Db, direct.Db, 1e-4f, 1e-4f, "db");
    }

    /// <summary>Whether the CPU's direct kernels serve this window; false only on a CPU that has neither AVX-512 nor
    /// AVX2 + FMA (asserted), so a test that returns early on false cannot pass by skipping where the kernels exist.</summary>
    internal static bool HasDirectKernels(Frugal.Backends.Window2d win)
    {
        if (Frugal.Backends.Cpu.CpuBackend.DirectConvApplies(win)) return true;
        Assert.False(System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported,
            $"the direct kernels should serve {win} on this CPU");
        return false;
    }

    /// <summary>A channel subset the direct kernels cannot honour (repeated, unordered, out of range, scales of the wrong
    /// length) is refused with the op's name, not read past the tensor.</summary>
    [Fact]
    public void A_bad_channel_subset_names_the_op_and_the_index()
    {
        var win = new Frugal.Backends.Window2d(5, 5, 3, 3, PadH: 1, PadW: 1);
        if (!HasDirectKernels(win)) return;   // no direct kernel: TryConv2dDirect declines before it reads the subset
        var x = Tensor.Randn(new Shape(2, 4, 5, 5), new Generator(1));
        var w = Tensor.Randn(new Shape(3, 4, 3, 3), new Generator(2));
        var y = Tensor.Zeros(2, 3, 5, 5);
        foreach (var (subset, expect) in new (Frugal.Backends.ChannelSubset, string)[]
                 {
                     (new([1, 1]), "index 1 at position 1"), (new([2, 0]), "index 0 at position 1"), (new([0, 4]), "out of [0, 4)"),
                     (new([]), "empty"), (new([0, 2], [1f]), "2 indices but 1 scales"),
                 })
        {
            var ex = Assert.Throws<ArgumentException>(() => x.Backend.TryConv2dDirect(x, w, null, win, y, subset));
            Assert.Contains("conv2d", ex.Message);
            Assert.Contains(expect, ex.Message);
        }
    }

    [Theory, MemberData(nameof(TestDevices.All), MemberType = typeof(TestDevices))]
    public void Only_the_requested_gradients_are_computed(string device)
    {
        var d = Device.Parse(device);
        var g = new Cfg(2, 2, 5, 5, 3, 3, 3, (1, 1), (1, 1));
        var (x, w, b) = Operands(d, g, 40);
        x.RequiresGrad = false;
        Check.Gradients(t => Apply(t[0], t[1], t[2], g), x, w, b!);
        Assert.Null(x.Grad);
        var x2 = Check.Param(d, 41, 2, 2, 5, 5);
        var w2 = Tensor.Randn(new Shape(3, 2, 3, 3), new Generator(42), d);
        Check.Gradients(t => Apply(t[0], t[1], null, g), x2, w2);
        Assert.Null(w2.Grad);
    }

    [Fact]
    public void Bad_inputs_name_the_op_and_the_sizes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3, 5, 5).Conv2d(Tensor.Zeros(4, 4, 3, 3)));
        Assert.Contains("conv2d", ex.Message);
        Assert.Contains("3 channels", ex.Message);
        Assert.Contains("expects 4", ex.Message);

        var big = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 1, 3, 3).Conv2d(Tensor.Zeros(1, 1, 5, 5), padding: 0));
        Assert.Contains("conv2d", big.Message);
        Assert.Contains("5x5", big.Message);
        Assert.Contains("3x3", big.Message);
        // Padding 1 makes it fit.
        Assert.Equal(new Shape(1, 1, 1, 1), Tensor.Zeros(1, 1, 3, 3).Conv2d(Tensor.Zeros(1, 1, 5, 5), padding: 1).Shape);

        var grp = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 6, 5, 5).Conv2d(Tensor.Zeros(4, 2, 3, 3), groups: 4));
        Assert.Contains("conv2d", grp.Message);
        Assert.Contains("groups 4", grp.Message);
        Assert.Contains("6 input channels", grp.Message);

        var grp2 = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 4, 5, 5).Conv2d(Tensor.Zeros(4, 4, 3, 3), groups: 2));
        Assert.Contains("4 channels", grp2.Message);
        Assert.Contains("expects 8", grp2.Message);

        var rank = Assert.Throws<ArgumentException>(() => Tensor.Zeros(3, 5, 5).Conv2d(Tensor.Zeros(4, 3, 3, 3)));
        Assert.Contains("[3, 5, 5]", rank.Message);
        var bias = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 3, 5, 5).Conv2d(Tensor.Zeros(4, 3, 3, 3), Tensor.Zeros(3)));
        Assert.Contains("bias [3]", bias.Message);
        var stride = Assert.Throws<ArgumentException>(() => Tensor.Zeros(1, 3, 5, 5).Conv2d(Tensor.Zeros(4, 3, 3, 3), stride: 0));
        Assert.Contains("stride", stride.Message);
    }

    // ---- module ------------------------------------------------------------------------------

    [Fact]
    public void Module_has_pytorch_shapes_keys_and_init_bounds()
    {
        var conv = new Conv2d(4, 6, 3, stride: 2, padding: 1, groups: 2, generator: new Generator(1));
        Assert.Equal(new Shape(6, 2, 3, 3), conv.Weight.Shape);
        Assert.Equal(new Shape(6), conv.Bias!.Shape);
        Assert.Equal(["weight", "bias"], conv.StateDict().Select(p => p.Key));
        Assert.Equal((4, 6, 2), (conv.InChannels, conv.OutChannels, conv.Groups));
        Assert.Equal(((3, 3), (2, 2), (1, 1)), (conv.KernelSize, conv.Stride, conv.Padding));
        Assert.True(conv.Weight.RequiresGrad && conv.Bias.RequiresGrad);
        // kaiming_uniform(a=√5) and the bias both draw from U(−1/√fan_in, 1/√fan_in), fan_in = in/groups·kh·kw = 18.
        float bound = 1f / MathF.Sqrt(18);
        var wv = conv.Weight.ToArray();
        Assert.All(wv, v => Assert.InRange(v, -bound, bound));
        Assert.True(wv.Max() > 0.8f * bound && wv.Min() < -0.8f * bound, "weights should fill the init range");
        Assert.All(conv.Bias.ToArray(), v => Assert.InRange(v, -bound, bound));

        var noBias = new Conv2d(3, 8, 5, bias: false);
        Assert.Null(noBias.Bias);
        Assert.Equal(["weight"], noBias.StateDict().Select(p => p.Key));
        Assert.Equal(new Shape(8, 3, 5, 5), noBias.Weight.Shape);
        var all = noBias.Weight.ToArray();
        Assert.All(all, v => Assert.InRange(v, -1f / MathF.Sqrt(75), 1f / MathF.Sqrt(75)));
    }

    [Fact]
    public void Module_forward_is_the_op_and_same_seed_gives_same_weights()
    {
        var a = new Conv2d(2, 3, 3, padding: 1, generator: new Generator(7));
        var b = new Conv2d(2, 3, 3, padding: 1, generator: new Generator(7));
        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        var x = Tensor.Randn(new Shape(2, 2, 4, 4), new Generator(3));
        var y = a.Call(x);
        Assert.Equal(new Shape(2, 3, 4, 4), y.Shape);
        Check.Close(x.Conv2d(a.Weight, a.Bias, 1, 1), y);
        Assert.Contains("Conv2d(2, 3", a.ToString());

        var ns = new Conv2d(2, 4, (2, 3), (1, 2), (1, 0));
        Assert.Equal(new Shape(4, 2, 2, 3), ns.Weight.Shape);
        Assert.Equal(new Shape(2, 4, 5, 1), ns.Call(x).Shape);
    }

    [Fact]
    public void Module_rejects_bad_configuration()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Conv2d(6, 4, 3, groups: 4));
        Assert.Contains("Conv2d", ex.Message);
        Assert.Contains("groups=4", ex.Message);
    }
}
