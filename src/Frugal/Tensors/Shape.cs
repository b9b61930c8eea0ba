namespace Frugal.Tensors;

/// <summary>Dimensions of a row-major tensor. Immutable; compares by value.</summary>
public readonly struct Shape : IEquatable<Shape>
{
    readonly int[]? _dims;

    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < 0) throw new ArgumentException($"shape: negative dimension in [{string.Join(", ", dims)}]");
        _dims = (int[])dims.Clone();
    }

    public ReadOnlySpan<int> Dims => _dims ?? [];
    public int Rank => _dims?.Length ?? 0;
    /// <summary>Same as <see cref="Rank"/>; lets shapes be indexed from the end (shape[^1]).</summary>
    public int Length => Rank;
    public int this[int axis] => _dims![axis];

    /// <summary>Number of elements; 1 for a scalar (rank 0).</summary>
    public int Numel
    {
        get
        {
            long n = 1;
            foreach (var d in Dims) n *= d;
            if (n > int.MaxValue) throw new OverflowException($"shape {this} has {n} elements, more than {int.MaxValue}");
            return (int)n;
        }
    }

    public int[] ToArray() => Dims.ToArray();

    /// <summary>Resolves a possibly negative axis (-1 = last) and checks its range.</summary>
    public int Axis(int axis, string op)
    {
        int a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank) throw new ArgumentException($"{op}: axis {axis} is out of range for shape {this}");
        return a;
    }

    /// <summary>Product of the dimensions in [from, to).</summary>
    public int Prod(int from, int to)
    {
        int n = 1;
        for (int i = from; i < to; i++) n *= this[i];
        return n;
    }

    /// <summary>The NumPy broadcast of two shapes (align right; a dimension of 1 stretches).</summary>
    public static Shape Broadcast(Shape a, Shape b, string op)
    {
        int r = Math.Max(a.Rank, b.Rank);
        var dims = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i < r - a.Rank ? 1 : a[i - (r - a.Rank)];
            int db = i < r - b.Rank ? 1 : b[i - (r - b.Rank)];
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {a} and {b} cannot be broadcast together");
            dims[i] = da == 1 ? db : da;
        }
        return new Shape(dims);
    }

    /// <summary>Resolves one -1 in a reshape target against a known element count.</summary>
    public static Shape Infer(int[] dims, int numel, string op)
    {
        int known = 1, free = -1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (free >= 0) throw new ArgumentException($"{op}: only one dimension can be -1 in [{string.Join(", ", dims)}]");
                free = i;
            }
            else known *= dims[i];
        }
        var res = (int[])dims.Clone();
        if (free >= 0)
        {
            if (known == 0 || numel % known != 0)
                throw new ArgumentException($"{op}: cannot reshape {numel} elements into [{string.Join(", ", dims)}]");
            res[free] = numel / known;
        }
        var s = new Shape(res);
        if (s.Numel != numel) throw new ArgumentException($"{op}: cannot reshape {numel} elements into {s}");
        return s;
    }

    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims) h.Add(d);
        return h.ToHashCode();
    }
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);
    public static implicit operator Shape(int[] dims) => new(dims);
    public override string ToString() => $"[{string.Join(", ", _dims ?? [])}]";
}
