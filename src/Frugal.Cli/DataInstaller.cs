using System.Diagnostics;
using Frugal.Data;

namespace Frugal.Cli;

/// <summary>
/// Makes the default data set available on a fresh Debian machine: as root, installs
/// dataset-fashion-mnist with apt-get, saying so first; otherwise (or with FRUGAL_NO_INSTALL=1) says exactly what to
/// run. Never downloads anything else.
/// </summary>
static class DataInstaller
{
    public static void EnsureFashionMnist(string? dataDir)
    {
        if (dataDir != null || Directory.Exists(FashionMnist.DefaultDirectory)) return;
        if (Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get") || Environment.GetEnvironmentVariable("FRUGAL_NO_INSTALL") == "1")
            throw new DirectoryNotFoundException($"data: {FashionMnist.DefaultDirectory} is missing. Install it with: sudo apt-get install dataset-fashion-mnist (or pass --data-dir)");
        Console.WriteLine("data: Fashion-MNIST is not installed; running: apt-get install -y dataset-fashion-mnist");
        if (Run("apt-get", "install -y -q dataset-fashion-mnist") != 0)
        {
            Run("apt-get", "update -q");
            if (Run("apt-get", "install -y -q dataset-fashion-mnist") != 0)
                throw new DirectoryNotFoundException("data: apt-get install dataset-fashion-mnist failed; install it by hand or pass --data-dir");
        }
    }

    static int Run(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { UseShellExecute = false };
        psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        p.WaitForExit();
        return p.ExitCode;
    }
}
