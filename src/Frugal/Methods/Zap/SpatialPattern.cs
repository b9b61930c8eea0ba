using Frugal.Options;
using Frugal.Tensors;

namespace Frugal.Methods.Zap;

/// <summary>
/// A ZAP spatial pattern P (../shared/METHODS.md §6): the output positions of a feature map that are always computed;
/// the predictor guesses from them which of the others are zero. A pattern is a small tile of computed (1) and predicted
/// (0) cells repeated over H×W from the top-left corner, so position (h, w) is computed iff
/// <c>Tile[h mod TileH, w mod TileW]</c>. Its name is the percentage of positions it computes.
/// </summary>
public sealed class SpatialPattern
{
    /// <summary>Percentage of positions computed, the pattern's name ("50" = checkerboard).</summary>
    public string Name { get; }
    /// <summary>How the computed cells lie, for reports and docs.</summary>
    public string Description { get; }
    readonly bool[,] _tile;

    SpatialPattern(string name, string description, bool[,] tile) { Name = name; Description = description; _tile = tile; }

    /// <summary>The fraction of a whole tile that is computed (exact on maps whose sides are multiples of the tile's).</summary>
    public double ComputedFraction
    {
        get
        {
            int on = 0;
            foreach (var b in _tile) if (b) on++;
            return (double)on / _tile.Length;
        }
    }

    public bool IsComputed(int h, int w) => _tile[h % _tile.GetLength(0), w % _tile.GetLength(1)];

    /// <summary>P over an H×W map, row-major, 1 where computed.</summary>
    public float[] Mask(int height, int width)
    {
        var m = new float[height * width];
        for (int h = 0; h < height; h++)
            for (int w = 0; w < width; w++)
                m[h * width + w] = IsComputed(h, w) ? 1 : 0;
        return m;
    }

    /// <summary>P as a [1, 1, H, W] tensor, broadcast over images and channels.</summary>
    public Tensor MaskTensor(int height, int width, Device? device = null) =>
        Tensor.FromArray(Mask(height, width), new Shape(1, 1, height, width), device);

    /// <summary>The flat positions h·W + w that are computed (<paramref name="computed"/>) or predicted.</summary>
    public int[] Positions(int height, int width, bool computed)
    {
        var list = new List<int>();
        for (int h = 0; h < height; h++)
            for (int w = 0; w < width; w++)
                if (IsComputed(h, w) == computed) list.Add(h * width + w);
        return list.ToArray();
    }

    // Lattices chosen so that every predicted cell has a computed cell among its 8 neighbours (the predictor's
    // 3×3 receptive field sees one): diagonal stripes for thirds, a knight's-move lattice for fifths.
    static bool[,] Tile(int size, Func<int, int, bool> computed)
    {
        var t = new bool[size, size];
        for (int i = 0; i < size; i++) for (int j = 0; j < size; j++) t[i, j] = computed(i, j);
        return t;
    }

    /// <summary>The named patterns, by computed percentage.</summary>
    public static readonly IReadOnlyList<SpatialPattern> All =
    [
        new("11", "1 of each 3×3 block computed: h mod 3 = 0 and w mod 3 = 0", Tile(3, (i, j) => i == 0 && j == 0)),
        new("20", "knight's-move lattice: (h + 2w) mod 5 = 0", Tile(5, (i, j) => (i + 2 * j) % 5 == 0)),
        new("25", "1 of each 2×2 block computed: h and w even", Tile(2, (i, j) => i == 0 && j == 0)),
        new("33", "diagonal stripes: (h + w) mod 3 = 0", Tile(3, (i, j) => (i + j) % 3 == 0)),
        new("40", "two knight's-move lattices: (h + 2w) mod 5 ∈ {0, 2}", Tile(5, (i, j) => (i + 2 * j) % 5 is 0 or 2)),
        new("50", "checkerboard: (h + w) even", Tile(2, (i, j) => (i + j) % 2 == 0)),
        new("60", "(h + 2w) mod 5 ∈ {0, 1, 3}", Tile(5, (i, j) => (i + 2 * j) % 5 is 0 or 1 or 3)),
        new("67", "diagonal stripes: (h + w) mod 3 ≠ 0", Tile(3, (i, j) => (i + j) % 3 != 0)),
        new("75", "1 of each 2×2 block zeroed (predicted): h and w odd", Tile(2, (i, j) => !(i == 1 && j == 1))),
        new("80", "(h + 2w) mod 5 ≠ 0", Tile(5, (i, j) => (i + 2 * j) % 5 != 0)),
        new("89", "1 of each 3×3 block predicted: h mod 3 = 1 and w mod 3 = 1", Tile(3, (i, j) => !(i == 1 && j == 1))),
    ];

    /// <summary>The pattern named <paramref name="name"/>; an error naming <paramref name="key"/> and the choices otherwise.</summary>
    public static SpatialPattern Get(string name, string key = "pattern") =>
        All.FirstOrDefault(p => p.Name == name.Trim().TrimEnd('%'))
        ?? throw new OptionException(key, $"'{name}' is not a pattern (choose the computed percentage: {string.Join(", ", All.Select(p => p.Name))})");

    public override string ToString() => $"{Name}% ({Description})";
}
