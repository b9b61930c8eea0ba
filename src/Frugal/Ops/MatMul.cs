using System.Diagnostics;
using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>Matrix products on the backend GEMM: 2-D, batched 3-D, and the fused linear layer.</summary>
public static class MatMul
{
    /// <summary>a·b for a: [m,k] or [B,m,k], b: [k,n] or [B,k,n] (a 2-D operand is shared across the batch).</summary>
    public static Tensor Matmul(this Tensor a, Tensor b) => new MatMulFn().Forward(a, b);

    /// <summary>y = x·Wᵀ + b, with x: [N, in], W: [out, in] (PyTorch's layout), b: [out] or null.</summary>
    public static Tensor Linear(this Tensor x, Tensor weight, Tensor? bias = null) => new LinearFn().Forward(x, weight, bias);

    /// <summary>The profiler's key for the linear layers' GEMMs (part of their forward and backward times).</summary>
    public const string GemmKey = "of which linear-layer GEMMs";

    /// <summary>C = op(A)·op(B) (+ C if accumulate) for 2-D tensors, without autograd. Under the profiler the linear
    /// layers' GEMMs are timed on their own (<see cref="GemmKey"/>), so `frugal bench step` shows what the rest of a step costs.</summary>
    internal static void Gemm(Tensor a, bool ta, Tensor b, bool tb, Tensor c, bool accumulate = false)
    {
        int m = ta ? a.Shape[1] : a.Shape[0], k = ta ? a.Shape[0] : a.Shape[1];
        int n = tb ? b.Shape[0] : b.Shape[1];
        long t0 = Profiler.Enabled ? Stopwatch.GetTimestamp() : 0;
        a.Backend.Gemm(ta, tb, m, n, k, 1f, a, 0, a.Shape[1], 0, b, 0, b.Shape[1], 0, accumulate ? 1f : 0f, c, 0, n, 0);
        if (t0 != 0) Profiler.Add(GemmKey, t0);
    }

    sealed class MatMulFn : Function
    {
        Tensor _a = null!, _b = null!;

        public Tensor Forward(Tensor a, Tensor b)
        {
            Arithmetic.SameDevice("matmul", a, b);
            if (a.Rank is < 2 or > 3 || b.Rank is < 2 or > 3)
                throw new ArgumentException($"matmul: expected 2-D or 3-D operands, got {a.Shape} and {b.Shape}");
            int batchA = a.Rank == 3 ? a.Shape[0] : 1, batchB = b.Rank == 3 ? b.Shape[0] : 1;
            int m = a.Shape[^2], k = a.Shape[^1], k2 = b.Shape[^2], n = b.Shape[^1];
            if (k != k2 || (a.Rank == 3 && b.Rank == 3 && batchA != batchB))
                throw new ArgumentException($"matmul: shapes {a.Shape} and {b.Shape} do not match (inner {k} vs {k2})");
            int batch = Math.Max(batchA, batchB);
            var y = Tensor.Uninitialized(a.Rank == 3 || b.Rank == 3 ? new Shape(batch, m, n) : new Shape(m, n), a.Device);   // beta = 0 overwrites
            a.Backend.Gemm(false, false, m, n, k, 1f, a, 0, k, a.Rank == 3 ? m * k : 0, b, 0, n, b.Rank == 3 ? k * n : 0,
                0f, y, 0, n, m * n, batch);
            if (NeedsGrad(a, b)) { _a = a; _b = b; }
            return Record(y, a, b);
        }

        public override Tensor?[] Backward(Tensor g)
        {
            int m = _a.Shape[^2], k = _a.Shape[^1], n = _b.Shape[^1];
            int batch = g.Rank == 3 ? g.Shape[0] : 1;
            Tensor? ga = null, gb = null;
            if (_a.RequiresGrad)
            {
                // dA = dY·Bᵀ; a shared 2-D A sums over the batch (beta = 1 after the first).
                ga = Tensor.Zeros(_a.Shape, g.Device);
                bool shared = _a.Rank == 2 && batch > 1;
                for (int i = 0, bs = shared ? batch : 1; i < bs; i++)
                    g.Backend.Gemm(false, true, m, k, n, 1f, g, i * m * n, n, m * n, _b, _b.Rank == 3 ? i * k * n : 0, n, _b.Rank == 3 ? k * n : 0,
                        1f, ga, 0, k, shared ? 0 : m * k, shared ? 1 : batch);
            }
            if (_b.RequiresGrad)
            {
                // dB = Aᵀ·dY
                gb = Tensor.Zeros(_b.Shape, g.Device);
                bool shared = _b.Rank == 2 && batch > 1;
                for (int i = 0, bs = shared ? batch : 1; i < bs; i++)
                    g.Backend.Gemm(true, false, k, n, m, 1f, _a, _a.Rank == 3 ? i * m * k : 0, k, _a.Rank == 3 ? m * k : 0, g, i * m * n, n, m * n,
                        1f, gb, 0, n, shared ? 0 : k * n, shared ? 1 : batch);
            }
            return [ga, gb];
        }
    }

    sealed class LinearFn : Function
    {
        Tensor _x = null!, _w = null!;
        bool _hasBias;

        public Tensor Forward(Tensor x, Tensor w, Tensor? b)
        {
            if (x.Rank != 2 || w.Rank != 2 || x.Shape[1] != w.Shape[1])
                throw new ArgumentException($"linear: input {x.Shape} does not match weight {w.Shape} (expected [N, {(w.Rank == 2 ? w.Shape[1] : -1)}])");
            if (b != null && (b.Rank != 1 || b.Shape[0] != w.Shape[0]))
                throw new ArgumentException($"linear: bias {b.Shape} does not match weight {w.Shape} (expected [{w.Shape[0]}])");
            Arithmetic.SameDevice("linear", x, w);
            var y = Tensor.Uninitialized(new Shape(x.Shape[0], w.Shape[0]), x.Device);
            if (b != null)
            {
                // Copy the bias into every row of y (source stride 0), then accumulate the GEMM on top (beta = 1):
                // the bias costs one memcpy pass instead of a separate add over the output.
                int outF = w.Shape[0];
                x.Backend.CopyBlocks(b, 0, 0, y, 0, outF, outF, x.Shape[0]);
                Gemm(x, false, w, true, y, accumulate: true);
            }
            else Gemm(x, false, w, true, y);
            _hasBias = b != null;
            if (NeedsGrad(x, w) || (b?.RequiresGrad ?? false)) { _x = x; _w = w; }
            return b == null ? Record(y, x, w) : Record(y, x, w, b);
        }

        public override Tensor?[] Backward(Tensor g)
        {
            Tensor? gx = null, gw = null, gb = null;
            // A pruned dY (mostly zeros) goes to the sparse-operand kernel below its measured break-even density.
            double density = _x.RequiresGrad || _w.RequiresGrad ? SparseBackward.Density(g) : 1;
            int n = g.Shape[0], outF = _w.Shape[0], inF = _w.Shape[1];
            if (_x.RequiresGrad)
            {
                gx = Tensor.Uninitialized(_x.Shape, g.Device);                                                          // dX = dY·W
                if (SparseBackward.Use(density, SparseBackward.LinearInputBreakEven)) g.Backend.SparseGemm(false, n, inF, outF, g, _w, gx, false);
                else Gemm(g, false, _w, false, gx);
            }
            if (_w.RequiresGrad)
            {
                gw = Tensor.Uninitialized(_w.Shape, g.Device);                                                          // dW = dYᵀ·X
                if (SparseBackward.Use(density, SparseBackward.LinearWeightBreakEven)) g.Backend.SparseGemm(true, outF, inF, n, g, _x, gw, false);
                else Gemm(g, true, _x, false, gw);
            }
            if (_hasBias && Inputs[2].RequiresGrad) gb = g.SumTo(new Shape(g.Shape[1]));                       // db = Σ_N dY
            return _hasBias ? [gx, gw, gb] : [gx, gw];
        }
    }
}
