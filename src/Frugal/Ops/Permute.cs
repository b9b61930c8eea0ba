using Frugal.Autograd;
using Frugal.Tensors;

namespace Frugal.Ops;

/// <summary>Axis permutation and transpose (a copy: tensors stay contiguous).</summary>
public static class PermuteOps
{
    /// <summary>y.shape[i] = x.shape[perm[i]].</summary>
    public static Tensor Permute(this Tensor x, params int[] perm) => new PermuteFn().Forward(x, perm);

    /// <summary>Swaps two axes.</summary>
    public static Tensor Transpose(this Tensor x, int axis0, int axis1)
    {
        int a = x.Shape.Axis(axis0, "transpose"), b = x.Shape.Axis(axis1, "transpose");
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return x.Permute(perm);
    }

    sealed class PermuteFn : Function
    {
        int[] _inverse = [];

        public Tensor Forward(Tensor x, int[] perm)
        {
            if (perm.Length != x.Rank || perm.Order().Where((p, i) => p != i).Any())
                throw new ArgumentException($"permute: [{string.Join(", ", perm)}] is not a permutation of the {x.Rank} axes of {x.Shape}");
            _inverse = new int[perm.Length];
            for (int i = 0; i < perm.Length; i++) _inverse[perm[i]] = i;
            return Record(Apply(x, perm), x);
        }

        public override Tensor?[] Backward(Tensor g) => [Apply(g, _inverse)];
    }

    internal static Tensor Apply(Tensor x, int[] perm)
    {
        var y = Tensor.Empty(new Shape(perm.Select(p => x.Shape[p]).ToArray()), x.Device);
        x.Backend.Permute(x, perm, y);
        return y;
    }
}
