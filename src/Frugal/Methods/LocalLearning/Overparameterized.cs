using Frugal.Nn;
using Frugal.Ops;
using Frugal.Tensors;

namespace Frugal.Methods.LocalLearning;

/// <summary>
/// Interlayer regularisation of layer-wise training by linear over-parameterisation (METHODS.md §4.3, a PROPOSAL):
/// while a stage trains, each of its conv/linear weights W [d_out, d_in] (a conv's d_in = in·kh·kw) is the product
/// B·A of B [d_out, r] and A [r, d_in] with r = ⌈factor · min(d_in, d_out)⌉ — the same function class, other training
/// dynamics (Arora et al. 2018, "implicit acceleration by overparameterization") — and afterwards collapses into W.
/// </summary>
public static class Overparameterized
{
    /// <summary>A factored layer that can write its product back into the layer it stands in for.</summary>
    public interface IFactored
    {
        /// <summary>Writes W = B·A into the original layer's weight (its bias was trained in place) and returns it.</summary>
        Module Collapse();
    }

    /// <summary>r = ⌈factor · min(d_in, d_out)⌉: at least the rank W can have, so B·A loses nothing.</summary>
    public static int InnerWidth(int dIn, int dOut, double factor) =>
        factor >= 1 ? (int)Math.Ceiling(factor * Math.Min(dIn, dOut) - 1e-9)
            : throw new ArgumentException($"over-parameterisation: factor must be ≥ 1, got {factor}");

    /// <summary>
    /// B [d_out, r] and A [r, d_in] with B·A = W exactly (up to rounding), so the factored layer starts as the layer's
    /// own initialisation. One factor is a random matrix with orthonormal columns (A, when r ≥ d_in) or rows (B,
    /// otherwise, then r ≥ d_out), the other W projected onto it: A = Q, B = W·Qᵀ (QᵀQ = I) or B = Q, A = Qᵀ·W (Q·Qᵀ = I).
    /// Neither factor has a zero row or column, which would never receive a gradient.
    /// </summary>
    public static (float[] B, float[] A) Factorize(float[] w, int dOut, int dIn, int r, Generator generator)
    {
        if (w.Length != (long)dOut * dIn) throw new ArgumentException($"over-parameterisation: weight has {w.Length} values, not {dOut}×{dIn}");
        if (r < Math.Min(dIn, dOut)) throw new ArgumentException($"over-parameterisation: inner width {r} is below min({dIn}, {dOut}); W would lose rank");
        var weight = Tensor.FromArray(w, dOut, dIn);
        if (r >= dIn)
        {
            var q = Orthonormal(dIn, r, generator);          // q[j] is column j of A (length r): Qᵀ, row by row
            var qt = Tensor.FromArray(q.SelectMany(v => v).Select(x => (float)x).ToArray(), dIn, r);
            return (weight.Matmul(qt).ToArray(), Transpose(qt.ToArray(), dIn, r));
        }
        else
        {
            var q = Orthonormal(dOut, r, generator);         // q[o] is row o of B (length r)
            var b = q.SelectMany(v => v).Select(x => (float)x).ToArray();
            return (b, Tensor.FromArray(Transpose(b, dOut, r), r, dOut).Matmul(weight).ToArray());
        }
    }

    static float[] Transpose(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = m[i * cols + j];
        return t;
    }

    /// <summary><paramref name="count"/> orthonormal vectors of length <paramref name="length"/> ≥ count: modified
    /// Gram–Schmidt on Gaussian vectors (twice, for accuracy in double).</summary>
    static double[][] Orthonormal(int count, int length, Generator generator)
    {
        var g = new float[length];
        var q = new double[count][];
        for (int k = 0; k < count; k++)
        {
            generator.FillNormal(g);
            var v = Array.ConvertAll(g, x => (double)x);
            for (int pass = 0; pass < 2; pass++)
                for (int p = 0; p < k; p++)
                {
                    double dot = 0;
                    for (int i = 0; i < length; i++) dot += v[i] * q[p][i];
                    for (int i = 0; i < length; i++) v[i] -= dot * q[p][i];
                }
            double norm = Math.Sqrt(v.Sum(x => x * x));
            for (int i = 0; i < length; i++) v[i] /= norm;
            q[k] = v;
        }
        return q;
    }

    /// <summary>Swaps a factored layer in for every conv (ungrouped) and linear child of <paramref name="piece"/>
    /// (ReplaceChild, so the model keeps its own layers); <see cref="Collapse"/> undoes it.</summary>
    public static IReadOnlyList<(string Name, IFactored Layer)> Apply(Sequential piece, double factor, Generator generator)
    {
        var swapped = new List<(string, IFactored)>();
        foreach (var (name, child) in piece.NamedChildren().ToList())
        {
            IFactored? f = child switch
            {
                Linear l => new OverparameterizedLinear(l, factor, generator),
                Conv2d { Groups: 1 } c => new OverparameterizedConv2d(c, factor, generator),
                _ => null,
            };
            if (f == null) continue;
            piece.ReplaceChild(name, (Module)f);
            swapped.Add((name, f));
        }
        return swapped;
    }

    /// <summary>Collapses every factored layer of <see cref="Apply"/> into its original and puts the original back.</summary>
    public static void Collapse(Sequential piece, IReadOnlyList<(string Name, IFactored Layer)> swapped)
    {
        foreach (var (name, f) in swapped) piece.ReplaceChild(name, f.Collapse());
    }
}
