using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Models;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;

namespace Frugal.Diagnostics;

/// <summary>One self-test case: passed or not, the largest error against the reference, and what went wrong.</summary>
public sealed record SelfTestResult(string Name, bool Ok, double MaxError, string Detail);

/// <summary>
/// A compact, dependency-free check of a backend against a reference backend (normally the CPU): every IBackend kernel
/// is run on both with the same seeded inputs (directly, or through the op whose forward and backward use it) and the
/// results compared element-wise (|a − r| ≤ atol + rtol·|r|, NaN matching NaN); then finite-difference gradient checks
/// run on the target alone, and one training step of each reference model is compared. It exists for machines where
/// the xunit suite cannot run (the GPU machine has no .NET SDK): `frugal selftest --device cuda`.
/// </summary>
public static class BackendSelfTest
{
    public sealed record Case(string Name, Func<Device, float[][]> Run, float Atol = 1e-4f, float Rtol = 1e-3f);

    public static IReadOnlyList<SelfTestResult> Run(Device target, Device reference, string? filter = null, Action<SelfTestResult>? progress = null)
    {
        var results = new List<SelfTestResult>();
        foreach (var c in Cases())
        {
            if (filter != null && !c.Name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            var r = Compare(c, target, reference);
            results.Add(r);
            progress?.Invoke(r);
        }
        foreach (var (name, check) in GradChecks())
        {
            if (filter != null && !name.Contains(filter, StringComparison.OrdinalIgnoreCase)) continue;
            SelfTestResult r;
            try
            {
                var g = check(target);
                r = new(name, g.Ok, g.MaxRelativeError, g.Ok ? "" : g.Report.Trim());
            }
            catch (Exception e) { r = new(name, false, double.NaN, $"{e.GetType().Name}: {e.Message}"); }
            results.Add(r);
            progress?.Invoke(r);
        }
        return results;
    }

    static SelfTestResult Compare(Case c, Device target, Device reference)
    {
        try
        {
            var expected = c.Run(reference);
            var actual = c.Run(target);
            if (expected.Length != actual.Length) return new(c.Name, false, double.NaN, $"{actual.Length} outputs, expected {expected.Length}");
            double worst = 0;
            for (int o = 0; o < expected.Length; o++)
            {
                var (e, a) = (expected[o], actual[o]);
                if (e.Length != a.Length) return new(c.Name, false, double.NaN, $"output {o}: {a.Length} values, expected {e.Length}");
                for (int i = 0; i < e.Length; i++)
                {
                    if (float.IsNaN(e[i]) && float.IsNaN(a[i])) continue;
                    if (e[i] == a[i]) continue;   // equal infinities too
                    double err = Math.Abs((double)a[i] - e[i]);
                    double allowed = c.Atol + c.Rtol * Math.Abs(e[i]);
                    if (double.IsNaN(err) || err > allowed)
                        return new(c.Name, false, err, $"output {o}[{i}]: {a[i]:G9}, expected {e[i]:G9} (allowed ±{allowed:G3})");
                    worst = Math.Max(worst, err);
                }
            }
            return new(c.Name, true, worst, "");
        }
        catch (Exception e) { return new(c.Name, false, double.NaN, $"{e.GetType().Name}: {e.Message}"); }
    }

    // ---- inputs ------------------------------------------------------------------------------

    static Tensor R(Device d, ulong seed, params int[] shape) => Tensor.Randn(new Shape(shape), new Generator(seed), d);

    static Tensor Positive(Device d, ulong seed, params int[] shape)
    {
        var v = R(Device.Cpu, seed, shape).ToArray();
        for (int i = 0; i < v.Length; i++) v[i] = MathF.Abs(v[i]) + 0.1f;
        return Tensor.FromArray(v, new Shape(shape), d);
    }

    static Tensor Of(Device d, float[] v, params int[] shape) => Tensor.FromArray(v, new Shape(shape), d);

    static readonly float[] Specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f, -1f, 0.5f, -2.5f, 3e-39f, -1e30f, 7f];

    /// <summary>f's output and the gradients of Σ f·proj with respect to each input (seeded, so equal on every device).</summary>
    static float[][] WithGrads(Device d, Func<Tensor[], Tensor> f, params Tensor[] inputs)
    {
        foreach (var x in inputs) x.RequiresGrad = true;
        var y = f(inputs);
        var proj = R(d, 999, y.Shape.ToArray());
        y.Mul(proj).Sum().Backward();
        return [y.ToArray(), .. inputs.Select(x => x.Grad!.ToArray())];
    }

    static IBackend B(Device d) => BackendRegistry.Get(d);

    // ---- cases -------------------------------------------------------------------------------

    public static IEnumerable<Case> Cases()
    {
        foreach (var op in Enum.GetValues<UnaryOp>())
        {
            var (a, b) = op switch
            {
                UnaryOp.LeakyRelu => (0.1f, 0f), UnaryOp.Affine => (2f, -1f), UnaryOp.Pow => (1.7f, 0f),
                UnaryOp.Clamp => (-0.5f, 0.5f), UnaryOp.GreaterThan => (0.2f, 0f), _ => (0f, 0f),
            };
            bool positive = op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Pow or UnaryOp.Reciprocal;
            yield return new($"map {op}", d =>
            {
                var x = positive ? Positive(d, 1, 1000) : R(d, 1, 1000);
                var y = Tensor.Uninitialized(x.Shape, d);
                B(d).Map(op, x, y, a, b);
                var s = Of(d, Specials, Specials.Length);
                var ys = Tensor.Uninitialized(s.Shape, d);
                B(d).Map(op, s, ys, a, b);
                return [y.ToArray(), ys.ToArray()];
            }, Rtol: op is UnaryOp.Pow or UnaryOp.Gelu ? 2e-3f : 1e-3f);
        }
        foreach (var op in Enum.GetValues<BinaryOp>())
            yield return new($"zip {op}", d =>
            {
                var outs = new List<float[]>();
                foreach (var (sa, sb) in new (int[], int[])[] { ([2, 3, 4, 5], [3, 1, 5]), ([7, 9], [7, 9]), ([1, 4], [3, 1]), ([6], [1]), ([1], [2, 5]) })
                {
                    var x = R(d, 2, sa);
                    var z = op == BinaryOp.Div ? Positive(d, 3, sb) : R(d, 3, sb);
                    var y = Tensor.Uninitialized(Shape.Broadcast(x.Shape, z.Shape, "zip"), d);
                    B(d).Zip(op, x, z, y);
                    outs.Add(y.ToArray());
                }
                var s = Of(d, Specials, Specials.Length);
                var t = Of(d, [.. Specials.Reverse()], Specials.Length);
                var ys = Tensor.Uninitialized(s.Shape, d);
                B(d).Zip(op, s, t, ys);
                outs.Add(ys.ToArray());
                return [.. outs];
            });
        foreach (var op in Enum.GetValues<ReduceOp>())
            yield return new($"reduce {op}", d =>
            {
                var outs = new List<float[]>();
                foreach (var (o, m, i) in new[] { (3, 7, 5), (4, 300, 1), (1, 5000, 1), (6, 10, 1), (2, 0, 3), (1, 3, 1000) })
                {
                    var x = R(d, 4, o * m * i);
                    var y = Tensor.Uninitialized(new Shape(o * i), d);
                    B(d).Reduce(op, x, o, m, i, y);
                    outs.Add(y.ToArray());
                }
                var s = Of(d, Specials, 2, 6);
                var ys = Tensor.Uninitialized(new Shape(2), d);
                B(d).Reduce(op, s, 2, 6, 1, ys);
                outs.Add(ys.ToArray());
                return [.. outs];
            }, Atol: 1e-3f);
        yield return new("argmax", d =>
        {
            var x = R(d, 5, 4 * 9 * 3);
            var s = Of(d, [1, 5, 5, float.NaN, 2, float.NaN, -1, -1, -1], 3, 3);
            return [[.. B(d).ArgMax(x, 4, 9, 3).Select(v => (float)v)], [.. B(d).ArgMax(s, 3, 3, 1).Select(v => (float)v)]];
        }, 0, 0);
        yield return new("gemm", d =>
        {
            var outs = new List<float[]>();
            foreach (var ta in new[] { false, true })
                foreach (var tb in new[] { false, true })
                {
                    int m = 5, n = 7, k = 6, batch = 3;
                    int lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
                    int sa = (ta ? k : m) * lda, sb = (tb ? n : k) * ldb, sc = m * ldc;
                    var a = R(d, 6, batch * sa); var b = R(d, 7, batch * sb); var c = R(d, 8, batch * sc);
                    B(d).Gemm(ta, tb, m, n, k, 1.5f, a, 0, lda, sa, b, 0, ldb, sb, 0.5f, c, 0, ldc, sc, batch);
                    outs.Add(c.ToArray());
                }
            var acc = R(d, 9, 4 * 3);       // strideC = 0: the batch sums into one C (conv weight gradients)
            B(d).Gemm(false, true, 4, 3, 5, 1f, R(d, 10, 2 * 20), 0, 5, 20, R(d, 11, 2 * 15), 0, 5, 15, 1f, acc, 0, 3, 0, 2);
            outs.Add(acc.ToArray());
            var k0 = R(d, 12, 6);           // k = 0: C = beta·C
            B(d).Gemm(false, false, 2, 3, 0, 1f, R(d, 13, 1), 0, 1, 0, R(d, 14, 3), 0, 3, 0, 0.5f, k0, 0, 3, 0);
            outs.Add(k0.ToArray());
            var big = R(d, 15, 300 * 200).Reshape(300, 200).Matmul(R(d, 16, 200 * 100).Reshape(200, 100));
            outs.Add(big.ToArray());
            return [.. outs];
        }, Atol: 1e-3f);
        yield return new("copy_blocks, permute, fill, concat, slice", d =>
        {
            var x = R(d, 17, 2, 3, 4, 5);
            var p = x.Permute(3, 1, 0, 2);
            var y = Tensor.Full(new Shape(4, 10), 0.25f, d);
            B(d).CopyBlocks(x, 3, 7, y, 1, 10, 5, 4);       // strided blocks
            B(d).CopyBlocks(x, 0, 0, y, 0, 10, 1, 4);       // broadcast source
            return [p.ToArray(), y.ToArray(), .. WithGrads(d, t => new[] { t[0], t[1] }.Concat(1).Slice(1, 2, 5), R(d, 18, 3, 4), R(d, 19, 3, 6))];
        }, 0, 0);
        yield return new("conv2d (grouped, strided, padded, dilated, bias)", d =>
            WithGrads(d, t => t[0].Conv2d(t[1], t[2], (2, 1), (1, 2), groups: 2, dilation: (1, 2)), R(d, 20, 2, 4, 9, 8), R(d, 21, 6, 2, 3, 3), R(d, 22, 6)), Atol: 1e-3f);
        yield return new("conv2d (stacked layout, K ≥ 64)", d =>
            WithGrads(d, t => t[0].Conv2d(t[1], null, 1, 1), R(d, 23, 3, 16, 6, 6), R(d, 24, 8, 16, 3, 3)), Atol: 1e-3f);
        yield return new("conv2d (1x1)", d =>
            WithGrads(d, t => t[0].Conv2d(t[1], t[2]), R(d, 25, 2, 5, 4, 3), R(d, 26, 7, 5, 1, 1), R(d, 27, 7)), Atol: 1e-3f);
        yield return new("max_pool2d", d =>
        [
            .. WithGrads(d, t => t[0].MaxPool2d(3, 2, 1), R(d, 28, 2, 3, 9, 8)),
            .. WithGrads(d, t => t[0].MaxPool2d(2), R(d, 29, 2, 3, 8, 6)),
            .. WithGrads(d, t => t[0].MaxPool2d((2, 3), (1, 2)), R(d, 30, 1, 2, 5, 7)),
        ]);
        yield return new("avg_pool2d", d =>
        [
            .. WithGrads(d, t => t[0].AvgPool2d(3, 2, 1), R(d, 31, 2, 3, 9, 8)),
            .. WithGrads(d, t => t[0].AvgPool2d(3, 2, 1, countIncludePad: false), R(d, 32, 2, 3, 9, 8)),
        ]);
        yield return new("adaptive_avg_pool2d", d =>
        [
            .. WithGrads(d, t => t[0].AdaptiveAvgPool2d(5, 3), R(d, 33, 2, 3, 9, 7)),
            .. WithGrads(d, t => t[0].AdaptiveAvgPool2d(1), R(d, 34, 2, 3, 7, 7)),
        ]);
        foreach (var log in new[] { false, true })
            yield return new($"{(log ? "log_" : "")}softmax", d =>
            [
                .. WithGrads(d, t => log ? t[0].LogSoftmax(1) : t[0].Softmax(1), R(d, 35, 3, 300)),   // a block per row
                .. WithGrads(d, t => log ? t[0].LogSoftmax(1) : t[0].Softmax(1), R(d, 36, 4, 5)),     // a thread per row
                .. WithGrads(d, t => log ? t[0].LogSoftmax(1) : t[0].Softmax(1), R(d, 37, 2, 6, 7)),  // strided columns
            ]);
        foreach (var eps in new[] { 0f, 0.1f })
            yield return new($"cross_entropy (smoothing {eps})", d =>
            {
                int[] targets = [.. Enumerable.Range(0, 16).Select(i => (i * 7) % 10)];
                return WithGrads(d, t => t[0].CrossEntropy(targets, eps), R(d, 38, 16, 10));
            });
        yield return new("leaky_relu, gelu, tanh, sigmoid backward", d =>
            WithGrads(d, t => t[0].LeakyRelu(0.2f).Add(t[0].Gelu()).Add(t[0].Tanh()).Add(t[0].Sigmoid()), R(d, 39, 50)));
        foreach (var (n, c, hw) in new[] { (4, 3, 5), (4, 3, 8), (32, 6, 1) })
            yield return new($"batch_norm [{n}, {c}, {hw}x{hw}]", d =>
            {
                var rm = Tensor.Zeros(new Shape(c), d); var rv = Tensor.Full(new Shape(c), 1f, d);
                var x = R(d, 40, n, c, hw, hw);
                var train = WithGrads(d, t => t[0].BatchNorm(t[1], t[2], rm, rv, training: true), x, R(d, 41, c), R(d, 42, c));
                var eval = WithGrads(d, t => t[0].BatchNorm(t[1], t[2], rm, rv, training: false), R(d, 43, n, c, hw, hw), R(d, 44, c), R(d, 45, c));
                return [.. train, .. eval, rm.ToArray(), rv.ToArray()];
            }, Atol: 1e-3f);
        yield return new("layer_norm", d =>
        [
            .. WithGrads(d, t => t[0].LayerNorm([20], t[1], t[2]), R(d, 46, 6, 20), R(d, 47, 20), R(d, 48, 20)),
            .. WithGrads(d, t => t[0].LayerNorm([5, 4]), R(d, 49, 3, 5, 4)),
        ], Atol: 1e-3f);
        yield return new("index_select, index_add", d =>
        [
            .. WithGrads(d, t => t[0].IndexSelect(1, [4, 0, 4, 2]), R(d, 50, 3, 5, 2)),
            .. WithGrads(d, t => t[0].IndexAdd(0, [1, 1, 3], t[1]), R(d, 51, 5, 4), R(d, 52, 3, 4)),
        ]);
        yield return new("gather, scatter_add", d =>
        {
            int[] gi = [2, 0, 1, 2, 2, 1, 0, 0];
            int[] si = [1, 1, 0, 3, 0, 2];
            return
            [
                .. WithGrads(d, t => t[0].Gather(1, gi, new Shape(2, 4)), R(d, 53, 2, 3)),
                .. WithGrads(d, t => t[0].ScatterAdd(1, si, new Shape(2, 3), t[1]), R(d, 54, 2, 4), R(d, 55, 2, 3)),
            ];
        });
        yield return new("sgd step (momentum, nesterov, weight decay)", d =>
        {
            var p = R(d, 56, 1000); var v = Tensor.Zeros(p.Shape, d);
            for (int s = 0; s < 3; s++) B(d).SgdStep(p, R(d, 57 + (ulong)s, 1000), v, 0.1, 0.9, 0, 5e-4, nesterov: true, firstStep: s == 0);
            return [p.ToArray(), v.ToArray()];
        }, 1e-5f, 1e-5f);
        foreach (var decoupled in new[] { false, true })
            yield return new($"adam{(decoupled ? "w" : "")} step (amsgrad)", d =>
            {
                var p = R(d, 60, 1000); var m = Tensor.Zeros(p.Shape, d); var v = Tensor.Zeros(p.Shape, d); var vm = Tensor.Zeros(p.Shape, d);
                for (int s = 1; s <= 3; s++) B(d).AdamStep(p, R(d, 60 + (ulong)s, 1000), m, v, vm, 1e-2, 0.9, 0.999, 1e-8, 1e-2, decoupled, s);
                return [p.ToArray(), m.ToArray(), v.ToArray(), vm.ToArray()];
            }, 1e-5f, 1e-4f);
        yield return new("squared_norm", d =>
        {
            var r = Tensor.Zeros(new Shape(3), d);
            B(d).SquaredNorm(R(d, 64, 100_000), r, 1);
            B(d).SquaredNorm(R(d, 65, 7), r, 2);
            return [r.ToArray()];
        }, 1e-3f, 1e-5f);
        yield return new("quantize_float (e4m3fn, e5m2, e2m1, e5m10, e8m7)", d =>
        {
            // Magnitudes 2^-30 … 2^20 (denormals, saturation and ties of every format), then the special values.
            var v = R(Device.Cpu, 67, 4099).ToArray();
            for (int i = 0; i < v.Length; i++) v[i] *= MathF.ScaleB(1, i % 51 - 30);
            var x = Of(d, [.. v, .. Specials], v.Length + Specials.Length);
            var outs = new List<float[]>();
            foreach (var (e, m, infNaN, scale) in new[] { (4, 3, false, 1f), (5, 2, true, 0.375f), (2, 1, true, 64f), (5, 10, true, 1f), (8, 7, true, 3f) })
                foreach (var stochastic in new[] { false, true })
                {
                    var y = Tensor.Uninitialized(x.Shape, d);
                    B(d).QuantizeFloat(x, y, e, m, infNaN, scale, stochastic, seed: 5);
                    outs.Add(y.ToArray());
                }
            return [.. outs];
        }, 0, 0);
        (Tensor X, Tensor? Stats)[] Pruned(Device d)
        {
            // 20 000 values (79 blocks of the GPU's grid) with 10% below a tenth of the threshold, NaN and ±0.
            var v = R(Device.Cpu, 68, 20_000).ToArray();
            for (int i = 0; i < v.Length; i += 10) v[i] *= 0.01f;
            v[3] = float.NaN; v[4] = -0f; v[5] = 0f;
            var x = Of(d, v, 100, 200);
            var clean = Of(d, [.. v.Where(f => !float.IsNaN(f))], v.Length - 1);
            var r = new List<(Tensor, Tensor?)>();
            foreach (var kind in new[] { PruneKind.Stochastic, PruneKind.Threshold })
                foreach (var t in new[] { x, clean })
                {
                    var y = Tensor.Uninitialized(t.Shape, d);
                    var st = Tensor.Uninitialized(new Shape(4), d);
                    B(d).Prune(kind, t, y, 0.7f, 11, st);
                    r.Add((y, st));
                }
            var noStats = Of(d, v, 100, 200);
            B(d).Prune(PruneKind.Stochastic, noStats, noStats, 0.7f, 11, null);   // in place, no statistics
            r.Add((noStats, null));
            return [.. r];
        }
        yield return new("prune (stochastic, threshold, in place)", d => [.. Pruned(d).Select(p => p.X.ToArray())], 0, 0);
        yield return new("prune statistics", d => [.. Pruned(d).Where(p => p.Stats is not null).Select(p => p.Stats!.ToArray())], 0, 1e-4f);   // CPU: float lanes per 4096 elements
        foreach (var model in new[] { "mlp", "cnn" })
            yield return new($"training step ({model})", d =>
            {
                var net = ModelZoo.Build(model, seed: 3).To(d);
                var opt = new Sgd(net.Parameters(), 0.05, momentum: 0.9, weightDecay: 5e-4);
                var x = R(d, 66, 8, 1, 28, 28);
                int[] y = [0, 1, 2, 3, 4, 5, 6, 7];
                var losses = new List<float>();
                for (int s = 0; s < 2; s++)
                {
                    var loss = net.Call(x).CrossEntropy(y);
                    opt.ZeroGrad();
                    loss.Backward();
                    opt.Step();
                    losses.Add(loss.Item());
                }
                return [[.. losses], .. net.Parameters().Take(4).Select(p => p.ToArray())];
            }, 1e-3f, 1e-3f);
    }

    /// <summary>Finite-difference gradient checks on the target device alone (the analytic backward against the forward).</summary>
    public static IEnumerable<(string Name, Func<Device, GradCheck.Result> Check)> GradChecks()
    {
        yield return ("gradcheck conv2d", d => GradCheck.Check(t => t[0].Conv2d(t[1], t[2], 1, 1), [P(d, 70, 1, 2, 5, 5), P(d, 71, 3, 2, 3, 3), P(d, 72, 3)]));
        yield return ("gradcheck log_softmax", d => GradCheck.Check(t => t[0].LogSoftmax(1), [P(d, 73, 3, 40)]));
        yield return ("gradcheck layer_norm", d => GradCheck.Check(t => t[0].LayerNorm([6], t[1], t[2]), [P(d, 74, 4, 6), P(d, 75, 6), P(d, 76, 6)]));
        yield return ("gradcheck batch_norm", d => GradCheck.Check(t => t[0].BatchNorm(t[1], t[2], null, null, true), [P(d, 77, 4, 3, 2, 2), P(d, 78, 3), P(d, 79, 3)]));
        yield return ("gradcheck avg_pool2d", d => GradCheck.Check(t => t[0].AvgPool2d(3, 2, 1), [P(d, 80, 1, 2, 6, 6)]));
        yield return ("gradcheck matmul", d => GradCheck.Check(t => t[0].Matmul(t[1]), [P(d, 81, 2, 3, 4), P(d, 82, 4, 5)]));
    }

    static Tensor P(Device d, ulong seed, params int[] shape)
    {
        var t = R(d, seed, shape);
        t.RequiresGrad = true;
        return t;
    }
}
