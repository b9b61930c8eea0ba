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
        var row = r.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("48×48×48 NN"));
        var cells = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture) > 0, row);
        Assert.Equal("-", cells[3]);
    }

    /// <summary>With --model, each layer's three GEMMs are timed in the layout the layer runs them: forward x·Wᵀ (NT),
    /// dX = dY·W (NN), dW = dYᵀ·X (TN).</summary>
    [Fact]
    public void Model_shapes_are_timed_in_the_layouts_the_linear_layer_uses()
    {
        var rows = Frugal.Cli.BenchCommand.LinearShapes("cnn").Select(s => s.ToString()).ToArray();
        Assert.Equal(["128×3136×256 NT", "128×256×3136 NN", "256×128×3136 TN", "128×256×10 NT", "128×10×256 NN", "10×128×256 TN"], rows);
    }
}
