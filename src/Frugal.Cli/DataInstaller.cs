using System.Diagnostics;
using Frugal.Data;

namespace Frugal.Cli;

/// <summary>
/// Makes the default data set available on a fresh Debian machine: as root, installs
/// dataset-fashion-mnist with apt-get, saying so first; otherwise (not root, --no-install or FRUGAL_NO_INSTALL=1) says
/// exactly what to run. Never downloads anything else.
/// </summary>
static class DataInstaller
{
    /// <summary>The commands' <c>--no-install</c> flag.</summary>
    public static readonly System.CommandLine.Option<bool> NoInstall = new("--no-install")
    {
        Description = "Never install missing Debian packages (the data set); say what to install instead (also FRUGAL_NO_INSTALL=1)",
    };

    public static void EnsureFashionMnist(string? dataDir, System.CommandLine.ParseResult parse)
    {
        if (dataDir != null || Directory.Exists(FashionMnist.DefaultDirectory)) return;
        bool allowed = !parse.GetValue(NoInstall) && Environment.GetEnvironmentVariable("FRUGAL_NO_INSTALL") != "1";
        if (!allowed || Environment.UserName != "root" || !File.Exists("/usr/bin/apt-get"))
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
