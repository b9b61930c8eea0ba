using System.Diagnostics;
using Frugal.Autograd;
using Frugal.Backends;
using Frugal.Backends.Cpu;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Cli;

/// <summary>
/// `frugal bench sparse`: where the sparse backward kernels (IBackend.Sparse.cs; issue 4 item 6, pruned neural gradients
/// of ../shared/METHODS.md section 1) beat the dense GEMMs. For the real backward shapes of the mlp and cnn models it times
/// dense and sparse side by side (interleaved, median of --reps) at each density of a randomly pruned dY, prints the ratio and
/// the break-even density; then a whole cnn backward with every conv/linear output gradient but the classifier's pruned.
/// </summary>
static class SparseBench
{
    /// <summary>Linear products in training: (name, N, in, out, whether dX is needed: the first layer's input is the image).</summary>
    static readonly (string Name, int In, int Out, bool NeedsDx)[] Linears =
        [("mlp fc1 784->1024", 784, 1024, false), ("mlp fc2 1024->1024", 1024, 1024, true), ("cnn fc1 3136->256", 3136, 256, true)];

    /// <summary>The cnn's convolutions, 3×3 padding 1 (the first one needs no dX), and a 1×1 one (as in ResNets), whose dense
    /// path needs no im2col.</summary>
    static readonly (int Cin, int Cout, int Hw, int K)[] Convs = [(1, 32, 28, 3), (32, 32, 28, 3), (32, 64, 14, 3), (64, 64, 14, 3), (64, 64, 14, 1)];

    public static void Run(int batch, int reps, double[] densities, double sparsity, int stepReps, bool cpuTime, string[] only)
    {
        using var pool = BufferPool.Enable();
        _cpuTime = cpuTime;
        if (cpuTime && Threading.Threads > 1)
            Console.WriteLine("warning: --cpu-time with more than one thread also counts OpenBLAS's spinning workers; set FRUGAL_THREADS=1");
        Console.WriteLine($"load average at start: {LoadAverage()}");
        Console.WriteLine($"GEMM {CpuBackend.GemmProvider}, {Threading.Threads} threads, Vector512 accelerated: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}");
        Console.WriteLine($"batch {batch}; {(cpuTime ? "process CPU time" : "wall time")}, medians of {reps} interleaved repetitions, ms; ratio = median over repetitions of sparse / dense (< 1: sparse faster)");
        Console.WriteLine($"thresholds in use: linear dX {SparseBackward.LinearInputBreakEven:P0}, linear dW {SparseBackward.LinearWeightBreakEven:P0}, " +
            $"conv {SparseBackward.ConvBreakEven:P0} (input channels not a multiple of 16: {SparseBackward.ConvUnalignedBreakEven:P0}, or {SparseBackward.ConvNarrowWeightBreakEven:P0} for dW alone with 3 window rows of ≤ 16 floats; 1x1: {SparseBackward.ConvPointwiseBreakEven:P0})");
        Console.WriteLine();
        bool Part(string name) => only.Length == 0 || only.Contains(name);
        foreach (var (name, inF, outF, needsDx) in Part("linear") ? Linears : [])
        {
            if (needsDx) LinearProduct($"{name} dX=dY·W", batch, inF, outF, transposed: false, reps, densities);
            LinearProduct($"{name} dW=dYᵀ·X", batch, inF, outF, transposed: true, reps, densities);
        }
        foreach (var (cin, cout, hw, k) in Part("conv") ? Convs : []) ConvLayer(batch, cin, cout, hw, k, reps, densities);
        if (stepReps > 0 && Part("backward")) WholeBackward(batch, sparsity, stepReps);
        Console.WriteLine($"load average at end: {LoadAverage()}");
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux): how shared the machine was while it was measured.</summary>
    static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>dY [N, out] with a fraction 1 − density of its entries zeroed at random (the pattern of stochastic pruning).</summary>
    static Tensor Pruned(Shape shape, double density, ulong seed)
    {
        var g = new Generator(seed);
        var v = new float[shape.Numel];
        g.FillNormal(v);
        for (int i = 0; i < v.Length; i++) if (g.NextDouble() >= density) v[i] = 0;
        return Tensor.FromArray(v, shape);
    }

    static double Median(List<double> xs)
    {
        xs.Sort();
        return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2;
    }

    /// <summary>
    /// Wall time, or with --cpu-time the CPU time of the whole process (clock_gettime(CLOCK_PROCESS_CPUTIME_ID)). On a
    /// machine shared with other jobs, wall time counts the slices other processes run in; CPU time does not. It is
    /// meaningful with FRUGAL_THREADS=1 (all work on the calling thread): with more threads it also counts OpenBLAS's
    /// spinning workers.
    /// </summary>
    static bool _cpuTime;

    static long Now()
    {
        if (!_cpuTime) return Stopwatch.GetTimestamp();
        clock_gettime(2 /* CLOCK_PROCESS_CPUTIME_ID */, out var ts);
        return ts.Sec * 1_000_000_000 + ts.Nsec;
    }

    static double Ms(long t0) => _cpuTime ? (Now() - t0) / 1e6 : Stopwatch.GetElapsedTime(t0).TotalMilliseconds;

    struct Timespec { public long Sec, Nsec; }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    static extern int clock_gettime(int clock, out Timespec ts);

    /// <summary>The action's time in ms.</summary>
    static Func<double> Timed(Action a) => () => { long t0 = Now(); a(); return Ms(t0); };

    static void Header(string title, string denseWhat, (double Probe, double Exact) probe)
    {
        Console.WriteLine($"{title}   (dense = {denseWhat}; density probe {probe.Probe:F3} ms, exact count {probe.Exact:F3} ms)");
        Console.WriteLine($"  {"density",8} {"dense ms",9} {"sparse ms",10} {"ratio",7}   {"best dense",10} {"best sparse",11} {"ratio",7}");
    }

    /// <summary>Times <paramref name="dense"/> and <paramref name="sparse"/> alternately (order flipped every repetition) at every
    /// density, prints the table and the break-even density, interpolated linearly in the ratio between the bracketing densities.</summary>
    static void Compare(double[] densities, int reps, Func<double, (Func<double> Dense, Func<double> Sparse)> setup)
    {
        var ratios = new List<(double D, double R)>(); var bestRatios = new List<(double D, double R)>();
        foreach (var d in densities)
        {
            var (dense, sparse) = setup(d);
            dense(); sparse(); dense(); sparse();   // warm-up: JIT, buffers, caches
            var td = new List<double>(); var ts = new List<double>(); var pair = new List<double>();
            for (int r = 0; r < reps; r++)
            {
                // Dense and sparse back to back, the order flipped every repetition; the ratio of each adjacent pair
                // cancels most of the drift in machine speed (the machine is shared).
                bool denseFirst = r % 2 == 0;
                double a = (denseFirst ? dense : sparse)(); BufferPool.Recycle();
                double b = (denseFirst ? sparse : dense)(); BufferPool.Recycle();
                double tDense = denseFirst ? a : b, tSparse = denseFirst ? b : a;
                td.Add(tDense); ts.Add(tSparse); pair.Add(tSparse / tDense);
            }
            double md = Median(td), ms = Median(ts), ratio = Median(pair), bd = td.Min(), bs = ts.Min();
            ratios.Add((d, ratio)); bestRatios.Add((d, bs / bd));
            Console.WriteLine($"  {d,8:P0} {md,9:F3} {ms,10:F3} {ratio,7:F2}   {bd,10:F3} {bs,11:F3} {bs / bd,7:F2}");
        }
        Console.WriteLine($"  break-even density: {BreakEven(ratios)} (medians); {BreakEven(bestRatios)} (best of {reps}, the least disturbed runs)");
        Console.WriteLine();
    }

    static string BreakEven(List<(double D, double R)> rs)
    {
        if (rs[0].R >= 1) return $"below {rs[0].D:P0} (sparse slower at every density measured)";
        for (int i = 1; i < rs.Count; i++)
            if (rs[i].R >= 1)
            {
                var (d0, r0) = rs[i - 1]; var (d1, r1) = rs[i];
                return $"{d0 + (1 - r0) / (r1 - r0) * (d1 - d0):P1}";
            }
        return $"above {rs[^1].D:P0} (sparse faster at every density measured)";
    }

    /// <summary>Median time of the backward's density probe on g (a sample of it) and of an exact count of all of g.</summary>
    static (double Probe, double Exact) ProbeMs(Tensor g)
    {
        var be = g.Backend;
        SparseBackward.Density(g); be.CountNonZero(g);
        var tp = new List<double>(); var te = new List<double>();
        for (int r = 0; r < 9; r++)
        {
            long t0 = Now(); SparseBackward.Density(g); tp.Add(Ms(t0));
            t0 = Now(); be.CountNonZero(g); te.Add(Ms(t0));
        }
        return (Median(tp), Median(te));
    }

    static void LinearProduct(string title, int n, int inF, int outF, bool transposed, int reps, double[] densities)
    {
        var gen = new Generator(7);
        var w = Tensor.Randn(new Shape(outF, inF), gen);
        var x = Tensor.Randn(new Shape(n, inF), gen);
        var c = Tensor.Uninitialized(transposed ? new Shape(outF, inF) : new Shape(n, inF));
        Header(title, transposed ? $"sgemm {outF}x{inF}x{n}" : $"sgemm {n}x{inF}x{outF}", ProbeMs(Pruned(new Shape(n, outF), 1, 1)));
        var be = w.Backend;
        Compare(densities, reps, d =>
        {
            var g = Pruned(new Shape(n, outF), d, 11);
            return transposed
                ? (Timed(() => MatMul.Gemm(g, true, x, false, c)), Timed(() => be.SparseGemm(true, outF, inF, n, g, x, c, false)))
                : (Timed(() => MatMul.Gemm(g, false, w, false, c)), Timed(() => be.SparseGemm(false, n, inF, outF, g, w, c, false)));
        });
    }

    /// <summary>What the dense side of a convolution's backward runs on this machine (the path exact training takes).</summary>
    static string DenseConvPath(Window2d win, int cin) =>
        win.IsPointwise ? "GEMMs"
        : !CpuBackend.DirectConvApplies(win) ? "im2col + GEMMs + col2im"
        : cin * win.Taps < CpuBackend.MinDirectWeightGradientK ? "direct kernel for dX, im2col + GEMM for dW"
        : "the direct 3x3 kernels";

    static void ConvLayer(int n, int cin, int cout, int hw, int k, int reps, double[] densities)
    {
        var gen = new Generator(5);
        var x = Tensor.Randn(new Shape(n, cin, hw, hw), gen);
        x.RequiresGrad = cin > 1;
        var w = Tensor.Randn(new Shape(cout, cin, k, k), gen);
        w.RequiresGrad = true;
        Header($"{(k == 3 ? "cnn" : "extra")} conv {k}x{k} {cin}->{cout} {hw}x{hw} backward ({(cin > 1 ? "dX and dW" : "dW only")})",
            DenseConvPath(new Window2d(hw, hw, k, k, 1, 1, k / 2, k / 2, 1, 1), cin), ProbeMs(Pruned(new Shape(n, cout, hw, hw), 1, 1)));
        // The op's own backward with the path forced: what the layer costs in training (forward untimed, outside the action).
        Func<double> Backward(Tensor gy, SparseBackward.Path path) => () =>
        {
            var y = x.Conv2d(w, padding: k / 2);
            SparseBackward.Force = path;
            long t0 = Now();
            try { y.Backward(gy); }
            finally { SparseBackward.Force = SparseBackward.Path.Auto; }
            double ms = Ms(t0);
            x.Grad = null; w.Grad = null;
            return ms;
        };
        Compare(densities, reps, d =>
        {
            var gy = Pruned(new Shape(n, cout, hw, hw), d, 13);
            return (Backward(gy, SparseBackward.Path.Dense), Backward(gy, SparseBackward.Path.Sparse));
        });
    }

    /// <summary>
    /// A cnn training backward (batch of random images, cross-entropy) three ways, interleaved: dense neural gradients;
    /// gradients pruned to <paramref name="sparsity"/> at random by a hook on every conv/linear output but the classifier's
    /// (where METHODS.md section 1 prunes), with the dense kernels forced; and the same with the automatic choice.
    /// The hook multiplies by a fixed random 0/1 mask (a stand-in for stochastic pruning; its cost is in "other").
    /// </summary>
    static void WholeBackward(int batch, double sparsity, int reps)
    {
        var model = (Sequential)ModelZoo.Build("cnn");
        var gen = new Generator(1);
        var x = Tensor.Randn(new Shape(batch, 1, 28, 28), gen);
        var labels = Enumerable.Range(0, batch).Select(_ => gen.NextInt(10)).ToArray();
        var layers = model.Layers;
        int classifier = layers.Select((l, i) => (l, i)).Last(p => p.l is Linear).i;
        var masks = new Dictionary<int, Tensor>();
        Tensor Loss(bool prune)
        {
            var h = x;
            for (int i = 0; i < layers.Count; i++)
            {
                h = layers[i].Call(h);
                if (!prune || !(layers[i] is Conv2d || (layers[i] is Linear && i != classifier))) continue;
                if (!masks.TryGetValue(i, out var mask))
                {
                    var keep = new float[h.Numel];
                    var mg = new Generator(100 + (ulong)i);
                    for (int j = 0; j < keep.Length; j++) keep[j] = mg.NextDouble() < 1 - sparsity ? 1 : 0;
                    masks[i] = mask = Tensor.FromArray(keep, h.Shape);
                }
                h.RegisterHook(g => g.Mul(mask));
            }
            return h.CrossEntropy(labels);
        }

        var configs = new (string Name, bool Prune, SparseBackward.Path Path)[]
        {
            ("dense gradients (automatic: probe, dense kernels)", false, SparseBackward.Path.Auto),
            ($"{sparsity:P0} pruned, dense kernels forced", true, SparseBackward.Path.Dense),
            ($"{sparsity:P0} pruned, automatic (sparse kernels)", true, SparseBackward.Path.Auto),
        };
        var times = configs.Select(_ => (Total: new List<double>(), Wall: new List<double>(), Conv: new List<double>(), Linear: new List<double>())).ToArray();
        var sparseCalls = new long[configs.Length];
        Profiler.Enabled = true;
        for (int r = -2; r < reps; r++)
            for (int k = 0; k < configs.Length; k++)
            {
                int c = ((r + 2) + k) % configs.Length;   // rotate the order every repetition
                var loss = Loss(configs[c].Prune);
                model.ZeroGrad();
                Profiler.Reset();
                SparseBackward.Force = configs[c].Path;
                long t0 = Now(), w0 = Stopwatch.GetTimestamp(), calls = SparseBackward.SparseCalls;
                try { loss.Backward(); }
                finally { SparseBackward.Force = SparseBackward.Path.Auto; }
                double ms = Ms(t0), wall = Stopwatch.GetElapsedTime(w0).TotalMilliseconds;
                var prof = Profiler.Snapshot();
                loss = null!;
                BufferPool.Recycle();
                if (r < 0) continue;   // warm-up
                sparseCalls[c] = SparseBackward.SparseCalls - calls;
                times[c].Total.Add(ms);
                times[c].Wall.Add(wall);
                times[c].Conv.Add(prof.TryGetValue("backward Conv2dFn", out var cv) ? cv.Ms : 0);
                times[c].Linear.Add(prof.TryGetValue("backward LinearFn", out var lv) ? lv.Ms : 0);
            }
        Profiler.Enabled = false;
        Console.WriteLine($"cnn backward, batch {batch}, median of {reps} interleaved repetitions, ms; {(_cpuTime ? "process CPU time" : "wall time")}, " +
            "and the wall time of the conv and linear backward functions (profiler) out of the backward's wall time");
        Console.WriteLine($"  {"",-52} {"backward",9} {"wall",8} {"conv",8} {"linear",8} {"other",8} {"sparse calls",13}");
        double baseTotal = Median(times[1].Total);
        for (int c = 0; c < configs.Length; c++)
        {
            double t = Median(times[c].Total), wall = Median(times[c].Wall), cv = Median(times[c].Conv), lv = Median(times[c].Linear);
            Console.WriteLine($"  {configs[c].Name,-52} {t,9:F1} {wall,8:F1} {cv,8:F1} {lv,8:F1} {wall - cv - lv,8:F1} {sparseCalls[c],13}");
        }
        Console.WriteLine($"  pruned backward, automatic / dense kernels: {Median(times[2].Total) / baseTotal:F2}");
    }
}
