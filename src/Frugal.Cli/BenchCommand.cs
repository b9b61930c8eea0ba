using System.CommandLine;
using System.Diagnostics;
using Frugal.Backends.Cpu;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>`frugal bench`: gemm (GFLOP/s of the engine's GEMM next to OpenBLAS called directly, in one run), step,
/// approx, conv, sparse and memory.</summary>
static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Micro-benchmarks (figures go to docs/RESULTS.md; compare ratios from one run)");
        var gemm = new Command("gemm", "SGEMM GFLOP/s through Frugal's GEMM op (into a fresh output, as the layers call it) vs cblas_sgemm called directly, square sizes or a model's layer shapes");
        var sizes = new Option<int[]>("--sizes") { Description = "Square sizes (default 128-2048 on the CPU, 1024-8192 on a GPU)", AllowMultipleArgumentsPerToken = true };
        var gemmDevice = new Option<string>("--device") { Description = "cpu, or cuda[:N] for cuBLAS FP32 and TF32", DefaultValueFactory = _ => "cpu" };
        var gemmModel = new Option<string?>("--model") { Description = "Instead of square sizes, the M×K×N products of this model's linear layers at batch 128, forward (NT) and both backward GEMMs (NN, TN), each in the layer's layout: mlp or cnn (its fc layers; the convs' GEMMs depend on their chunking, see frugal bench conv)" };
        gemm.Options.Add(sizes); gemm.Options.Add(gemmDevice); gemm.Options.Add(gemmModel);
        gemm.SetAction(p => Cli.Run(() =>
        {
            var d = Device.Parse(p.GetValue(gemmDevice)!);
            var given = p.GetValue(sizes) is { Length: > 0 } s ? s : null;
            if (p.GetValue(gemmModel) is { } model)
            {
                if (d != Device.Cpu) throw new ArgumentException("--model: model shapes are measured on the CPU only");
                Gemm(LinearShapes(model));
            }
            else if (d == Device.Cpu) Gemm([.. (given ?? [128, 256, 512, 1024, 2048]).Select(n => new GemmShape(n, n, n, false, false))]);
            else CudaGemmBench.Run(d, given ?? [1024, 2048, 4096, 8192]);
        }));
        bench.Subcommands.Add(gemm);

        var step = new Command("step", "Time training steps of a model on random data: forward, backward and optimizer per step, with a per-op breakdown and GC counts. Takes the train flags (--model, --batch-size, --approx ...)");
        var steps = new Option<int>("--steps") { Description = "Timed steps (after a warm-up of at least 35 steps that lasts until the runtime stops compiling); per round with --compare", DefaultValueFactory = _ => 20 };
        var compare = new Option<int>("--compare") { Description = "Alternate this many rounds of exact and method steps and report the speed-up (0 = profile one model)", DefaultValueFactory = _ => 0 };
        step.Options.Add(steps); step.Options.Add(compare);
        TrainFlags.AddTo(step);
        step.SetAction(p => Cli.Run(() => StepBench.Run(TrainFlags.Read(p, new Runs.TrainOptions()).Validate(), p.GetValue(steps), p.GetValue(compare))));
        bench.Subcommands.Add(step);

        var approx = new Command("approx", "Sampler error vs keep ratio (uniform CRS, optimal CRS, Bernoulli, Top-k) on synthetic pairs and the activation/weight pairs of a briefly trained model. Takes the train flags (--model, --epochs, --train-limit ...)");
        var keeps = new Option<double[]>("--keeps") { Description = "Keep ratios", DefaultValueFactory = _ => [0.1, 0.3, 0.5, 0.7, 0.9], AllowMultipleArgumentsPerToken = true };
        var draws = new Option<int>("--draws") { Description = "Draws per (layer, sampler, keep)", DefaultValueFactory = _ => 20 };
        var table = new Option<string?>("--table") { Description = "Also write the markdown table to this file" };
        approx.Options.Add(keeps); approx.Options.Add(draws); approx.Options.Add(table); approx.Options.Add(DataInstaller.NoInstall);
        TrainFlags.AddTo(approx);
        approx.SetAction(p => Cli.Run(() =>
        {
            var o = TrainFlags.Read(p, new Runs.TrainOptions()).Validate();
            DataInstaller.EnsureFashionMnist(o.DataDir, p);
            ApproxBench.Run(o, p.GetValue(keeps)!, p.GetValue(draws), p.GetValue(table));
        }));
        bench.Subcommands.Add(approx);

        var conv = new Command("conv", "Forward and backward time (best of --reps) of the reference CNN's conv layers; with --approx, the sampled layer alongside");
        var convBatch = new Option<int>("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 128 };
        var reps = new Option<int>("--reps") { Description = "Timed repetitions per layer", DefaultValueFactory = _ => 5 };
        var convApprox = new Option<string?>("--approx") { Description = "Also time the column-row-sampled layer: crs, bernoulli or topk" };
        var convKeep = new Option<double>("--keep") { Description = "Keep ratio of the sampled layer", DefaultValueFactory = _ => 0.5 };
        var convMode = new Option<string>("--approx-mode") { Description = "forward, backward or hybrid", DefaultValueFactory = _ => "forward" };
        conv.Options.Add(convBatch); conv.Options.Add(reps); conv.Options.Add(convApprox); conv.Options.Add(convKeep); conv.Options.Add(convMode);
        conv.SetAction(p => Cli.Run(() => ConvBench.Run(p.GetValue(convBatch), p.GetValue(reps), p.GetValue(convApprox), p.GetValue(convKeep), p.GetValue(convMode)!)));
        bench.Subcommands.Add(conv);

        var sparse = new Command("sparse", "Dense GEMMs vs the sparse-operand kernels on the mlp and cnn backward shapes at several densities of a randomly pruned dY (break-even per shape), then a whole cnn backward with pruned neural gradients");
        var sparseBatch = new Option<int>("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 128 };
        var sparseReps = new Option<int>("--reps") { Description = "Interleaved repetitions per shape and density (median reported)", DefaultValueFactory = _ => 7 };
        var densities = new Option<double[]>("--densities") { Description = "Densities (fraction of non-zeros) of dY", DefaultValueFactory = _ => [0.01, 0.02, 0.05, 0.10, 0.15, 0.20, 0.30, 0.50], AllowMultipleArgumentsPerToken = true };
        var sparsity = new Option<double>("--sparsity") { Description = "Pruned fraction of each neural gradient in the whole-backward timing", DefaultValueFactory = _ => 0.85 };
        var stepReps = new Option<int>("--step-reps") { Description = "Interleaved repetitions of the whole cnn backward (0 skips it)", DefaultValueFactory = _ => 7 };
        var cpuTime = new Option<bool>("--cpu-time") { Description = "Time with the process's CPU time instead of wall time (for a shared machine; use with FRUGAL_THREADS=1)" };
        sparse.Options.Add(sparseBatch); sparse.Options.Add(sparseReps); sparse.Options.Add(densities); sparse.Options.Add(sparsity); sparse.Options.Add(stepReps);
        var only = new Option<string[]>("--only") { Description = "Parts to run: linear, conv, backward (default: all)", AllowMultipleArgumentsPerToken = true };
        only.AcceptOnlyFromAmong("linear", "conv", "backward");
        sparse.Options.Add(cpuTime); sparse.Options.Add(only);
        sparse.SetAction(p => Cli.Run(() => SparseBench.Run(p.GetValue(sparseBatch), p.GetValue(sparseReps), p.GetValue(densities)!,
            p.GetValue(sparsity), p.GetValue(stepReps), p.GetValue(cpuTime), p.GetValue(only) ?? [])));
        bench.Subcommands.Add(sparse);

        var memory = new Command("memory", "PROPOSAL (METHODS.md §4.4): the largest batch whose training fits under --cap-mb of training memory, end-to-end and, with --partitions K, partition-wise sequential and pipelined. Takes the train flags (--model, --partitions, --queue-depth ...)");
        var cap = new Option<double>("--cap-mb") { Description = "Training memory cap in MiB (peak resident size above the size before the probe)", Required = true };
        var maxBatch = new Option<int>("--max-batch") { Description = "Largest batch to try", DefaultValueFactory = _ => 4096 };
        var probeSteps = new Option<int>("--steps") { Description = "Training steps per probe", DefaultValueFactory = _ => 2 };
        memory.Options.Add(cap); memory.Options.Add(maxBatch); memory.Options.Add(probeSteps);
        TrainFlags.AddTo(memory);
        memory.SetAction(p => Cli.Run(() => MemoryBench.Run(TrainFlags.Read(p, new Runs.TrainOptions()).Validate(), p.GetValue(cap), p.GetValue(maxBatch), p.GetValue(probeSteps))));
        bench.Subcommands.Add(memory);
        return bench;
    }

    /// <summary>C [M, N] = op(A)·op(B) with inner size K; A is stored [K, M] when TransA, B [N, K] when TransB.</summary>
    internal record struct GemmShape(int M, int K, int N, bool TransA, bool TransB)
    {
        public override string ToString() => $"{M}×{K}×{N} {(TransA ? 'T' : 'N')}{(TransB ? 'T' : 'N')}";
    }

    /// <summary>Every GEMM a model's linear layers run at batch 128, in the layout the layer runs it: forward y = x·Wᵀ
    /// (128, in, out, NT: W is [out, in]), dX = dY·W (128, out, in, NN) and dW = dYᵀ·X (out, 128, in, TN).</summary>
    internal static GemmShape[] LinearShapes(string model)
    {
        (int In, int Out)[] layers = model switch
        {
            "mlp" => [(784, 1024), (1024, 1024), (1024, 10)],
            "cnn" => [(3136, 256), (256, 10)],
            _ => throw new ArgumentException($"--model: '{model}' has no shape list here; choose mlp or cnn"),
        };
        const int batch = 128;
        return [.. layers.SelectMany(l => new GemmShape[]
            { new(batch, l.In, l.Out, false, true), new(batch, l.Out, l.In, false, false), new(l.Out, batch, l.In, true, false) })];
    }

    static unsafe void Gemm(GemmShape[] shapes)
    {
        // As in training: the op's output buffers come from the pool (BufferPool), so this times the GEMM, not page faults.
        using var pool = BufferPool.Enable();
        Console.WriteLine($"GEMM provider: {CpuBackend.GemmProvider}, threads {Threading.Threads}");
        // Without OpenBLAS there is no cblas_sgemm to call directly: time the managed GEMM alone.
        bool direct = OpenBlas.Available;
        if (!direct) Console.WriteLine("(OpenBLAS not found, so no direct column: apt-get install libopenblas0-pthread to compare)");
        Console.WriteLine($"{"M×K×N layout",21} {"frugal GFLOP/s",15} {"direct GFLOP/s",15} {"ratio",7}");
        // Warm up the op's code path first: its tier-1 JIT, compiled in the background, would otherwise land in the
        // first shape's timing.
        var wa = Tensor.Randn(new Shape(64, 64), new Generator(3));
        for (int i = 0; i < 200; i++) Ops.MatMul.Gemm(wa, i % 2 == 0, wa, i % 3 == 0, Tensor.Uninitialized(wa.Shape));
        Thread.Sleep(500);
        foreach (var shape in shapes)
        {
            var (m, k, n, ta, tb) = shape;
            var a = Tensor.Randn(ta ? new Shape(k, m) : new Shape(m, k), new Generator(1));
            var b = Tensor.Randn(tb ? new Shape(n, k) : new Shape(k, n), new Generator(2));
            double flops = 2.0 * m * k * n;
            int reps = Math.Max(3, (int)(2e10 / flops));
            // Interleave the two so drifts in machine speed hit both alike. Training recycles once a step, not once a
            // GEMM: one gen-1 collection per 64 MiB of outputs, so the op writes into that many pooled buffers in turn,
            // and the direct calls write into as many buffers of their own (the same cache and page state for both).
            int buffers = Math.Clamp((64 << 20) / (4 * m * n), 1, reps);
            var cs = Enumerable.Range(0, buffers).Select(_ => new float[m * n]).ToArray();
            double tFrugal = double.MaxValue, tDirect = double.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                var sw = Stopwatch.StartNew();
                // The op as a layer runs it: a fresh output (from the pool), then the backend's GEMM into it.
                for (int r = 0; r < reps; r++)
                {
                    Ops.MatMul.Gemm(a, ta, b, tb, Tensor.Uninitialized(new Shape(m, n)));
                    if (r % buffers == buffers - 1) BufferPool.Recycle();
                }
                tFrugal = Math.Min(tFrugal, sw.Elapsed.TotalSeconds / reps);
                BufferPool.Recycle();
                if (!direct) continue;
                sw.Restart();
                fixed (float* pa = a.Span, pb = b.Span)
                    for (int r = 0; r < reps; r++)
                        fixed (float* pc = cs[r % buffers]) OpenBlas.Sgemm(ta, tb, m, n, k, 1f, pa, a.Shape[1], pb, b.Shape[1], 0f, pc, n);
                tDirect = Math.Min(tDirect, sw.Elapsed.TotalSeconds / reps);
            }
            string directColumns = direct ? $"{flops / tDirect / 1e9,15:F1} {tDirect / tFrugal,7:F3}" : $"{"-",15} {"-",7}";
            Console.WriteLine($"{shape,21} {flops / tFrugal / 1e9,15:F1} {directColumns}");
        }
    }
}
