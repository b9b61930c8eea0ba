namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Host-side grouping for the deterministic accumulating index kernels: writes grouped by target, each group's
/// sources in the order the CPU applies them, as CSR (distinct targets, group starts, sources).
/// </summary>
public static class IndexPlans
{
    /// <summary>For index_add: the distinct indices (increasing), and for each the positions j (increasing) that hold it.</summary>
    public static (int[] Targets, int[] Starts, int[] Js) GroupIndices(int[] indices, int dim)
    {
        var count = new int[dim];
        foreach (var i in indices) count[i]++;
        int unique = count.Count(c => c > 0);
        var targets = new int[unique];
        var starts = new int[unique + 1];
        var slot = new int[dim];
        for (int d = 0, u = 0, at = 0; d < dim; d++)
        {
            if (count[d] == 0) continue;
            targets[u] = d; starts[u] = at; slot[d] = at;
            at += count[d]; u++;
            starts[u] = at;
        }
        var js = new int[indices.Length];
        for (int j = 0; j < indices.Length; j++) js[slot[indices[j]]++] = j;
        return (targets, starts, js);
    }

    /// <summary>
    /// For scatter_add: every position p of <paramref name="indexShape"/> (row-major) writes y at
    /// (p with coordinate axis replaced by index[p]) from src at p. Returns the distinct flat targets in y (increasing),
    /// group starts, and the flat src offsets of each group in increasing p (the CPU's order).
    /// </summary>
    public static (int[] Targets, int[] Starts, int[] Sources) GroupScatter(Tensors.Shape yShape, int axis, int[] index, Tensors.Shape indexShape, Tensors.Shape srcShape)
    {
        int r = indexShape.Rank, n = indexShape.Numel;
        var ys = Strides(yShape); var ss = Strides(srcShape);
        var keys = new long[n];
        var srcOff = new int[n];
        var c = new int[r];
        for (int p = 0; p < n; p++)
        {
            long t = 0, s = 0;
            for (int d = 0; d < r; d++)
            {
                t += (long)(d == axis ? index[p] : c[d]) * ys[d];
                s += (long)c[d] * ss[d];
            }
            keys[p] = (t << 32) | (uint)p;   // sorting by (target, p) keeps each group in increasing p
            srcOff[p] = (int)s;
            for (int d = r - 1; d >= 0; d--)
            {
                if (++c[d] < indexShape[d]) break;
                c[d] = 0;
            }
        }
        Array.Sort(keys);
        var targets = new List<int>();
        var starts = new List<int>();
        var sources = new int[n];
        for (int q = 0; q < n; q++)
        {
            int t = (int)(keys[q] >> 32), p = (int)(uint)keys[q];
            if (q == 0 || t != targets[^1]) { targets.Add(t); starts.Add(q); }
            sources[q] = srcOff[p];
        }
        starts.Add(n);
        return (targets.ToArray(), starts.ToArray(), sources);
    }

    static int[] Strides(Tensors.Shape s)
    {
        var st = new int[s.Rank];
        for (int i = s.Rank - 1, acc = 1; i >= 0; i--) { st[i] = acc; acc *= s[i]; }
        return st;
    }
}
