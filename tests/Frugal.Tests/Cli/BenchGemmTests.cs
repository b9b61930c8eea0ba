namespace Frugal.Tests.Cli;

/// <summary>`frugal bench gemm` on a machine without OpenBLAS: it times the managed GEMM and says why the direct
/// column is empty, instead of failing inside the cblas call it cannot make.</summary>
public class BenchGemmTests
{
    [Fact]
    public void Without_openblas_it_times_the_managed_gemm_and_says_why_there_is_no_direct_column()
    {
        var r = FrugalProcess.Run(TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["FRUGAL_NO_BLAS"] = "1" },
            "bench", "gemm", "--sizes", "48");
        Assert.False(r.TimedOut, "bench gemm did not finish in 2 minutes");
        Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.Contains("managed SIMD fallback", r.Stdout);
        Assert.Contains("OpenBLAS not found, so no direct column", r.Stdout);
        var row = r.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("48×48×48"));
        var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(double.Parse(cells[1], System.Globalization.CultureInfo.InvariantCulture) > 0, row);
        Assert.Equal("-", cells[2]);
    }
}
