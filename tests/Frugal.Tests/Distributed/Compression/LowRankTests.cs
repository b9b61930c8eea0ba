using Frugal.Distributed.Compression;
using Frugal.Tensors;

namespace Frugal.Tests.Distributed.Compression;

/// <summary>PowerSGD's products against naive loops on odd sizes, and the orthonormalisation's guarantees.</summary>
public class LowRankTests
{
    static float[] Random(int n, ulong seed)
    {
        var v = new float[n];
        new Generator(seed).FillNormal(v);
        return v;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 33, 2)]
    [InlineData(33, 7, 3)]
    [InlineData(20, 100, 4)]
    public void Products_match_their_definitions(int n, int m, int r)
    {
        var a = Random(n * m, 1);
        var qt = Random(r * m, 2);
        var pt = new float[r * n];
        LowRank.TimesQ(a, n, m, qt, r, pt);
        for (int i = 0; i < n; i++)
            for (int c = 0; c < r; c++)
            {
                double s = 0;
                for (int j = 0; j < m; j++) s += a[i * m + j] * qt[c * m + j];
                Assert.Equal(s, pt[c * n + i], 3);
            }

        var q2 = new float[r * m];
        LowRank.TransposeTimesP(a, n, m, pt, r, q2);
        for (int j = 0; j < m; j++)
            for (int c = 0; c < r; c++)
            {
                double s = 0;
                for (int i = 0; i < n; i++) s += a[i * m + j] * pt[c * n + i];
                Assert.True(Math.Abs(s - q2[c * m + j]) <= 1e-4 * (1 + Math.Abs(s)), $"Q[{j},{c}] = {q2[c * m + j]}, expected {s}");
            }

        var into = (float[])a.Clone();
        LowRank.AddProduct(pt, qt, r, n, m, -0.5f, into);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++)
            {
                double s = a[i * m + j];
                for (int c = 0; c < r; c++) s -= 0.5 * pt[c * n + i] * qt[c * m + j];
                Assert.True(Math.Abs(s - into[i * m + j]) <= 1e-4 * (1 + Math.Abs(s)));
            }
        Assert.Throws<ArgumentException>(() => LowRank.TimesQ(a, n, m, qt, r, new float[r * n + 1]));
    }

    static double Dot(float[] v, int a, int b, int n)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += (double)v[a * n + i] * v[b * n + i];
        return s;
    }

    [Fact]
    public void Orthonormalise_gives_orthonormal_columns_and_keeps_zero_and_dependent_ones_harmless()
    {
        const int n = 50, r = 4;
        var p = Random(r * n, 3);
        LowRank.Orthonormalise(p, r, n);
        for (int a = 0; a < r; a++)
            for (int b = 0; b < r; b++) Assert.Equal(a == b ? 1 : 0, Dot(p, a, b, n), 5);

        // Column 1 zero, column 3 exactly twice column 0: the first stays zero, the second ends orthogonal to the rest.
        var q = Random(r * n, 4);
        Array.Clear(q, n, n);
        for (int i = 0; i < n; i++) q[3 * n + i] = 2 * q[i];
        LowRank.Orthonormalise(q, r, n);
        Assert.All(q.Skip(n).Take(n), v => Assert.Equal(0f, v));
        foreach (var (a, b) in new[] { (0, 2), (0, 3), (2, 3) }) Assert.True(Math.Abs(Dot(q, a, b, n)) < 1e-6, $"columns {a}, {b}: {Dot(q, a, b, n)}");
        Assert.Equal(1, Dot(q, 0, 0, n), 5);
    }
}
