using Frugal.Backends.Cpu;
using Frugal.Tensors;

namespace Frugal.Tests.Backends;

public class GemmTests
{
    [Fact]
    public void OpenBlas_is_loaded_on_the_test_machine()
    {
        // .ci/run installs libopenblas0-pthread; if this fails the suite silently measured the fallback.
        Assert.True(OpenBlas.Available, "OpenBLAS did not load: install libopenblas0-pthread");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public unsafe void Managed_fallback_matches_OpenBlas_for_all_transposes(bool ta, bool tb)
    {
        int m = 13, n = 21, k = 17;
        var g = new Generator(3);
        var a = new float[m * k]; var b = new float[k * n];
        g.FillNormal(a); g.FillNormal(b);
        var c1 = new float[m * n]; var c2 = new float[m * n];
        g.FillNormal(c1); c1.CopyTo(c2, 0);
        int lda = ta ? m : k, ldb = tb ? k : n;
        fixed (float* pa = a, pb = b, p1 = c1, p2 = c2)
        {
            ManagedGemm.Sgemm(ta, tb, m, n, k, 0.5f, pa, lda, pb, ldb, 2f, p1, n);
            // Reference: a plain triple loop.
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                    p2[i * n + j] = (float)(0.5 * s + 2 * p2[i * n + j]);
                }
        }
        Check.Close(c2, c1, 1e-4f, 1e-4f);
    }
}
