using System.Diagnostics;
using Frugal.Data;
using Frugal.Runs;
using Frugal.Training;
using Xunit.Abstractions;

namespace Frugal.Tests.Training;

/// <summary>A Frugal model.safetensors loads into the PyTorch definition of the same model with
/// load_state_dict (strict) and gives the same test accuracy (bench/reference/eval_checkpoint.py).</summary>
public class PyTorchInteropTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "frugal-interop-" + Guid.NewGuid().ToString("N")[..8]);
    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, true); }

    static string RepoFile(string rel)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, rel))) return Path.Combine(d.FullName, rel);
        throw new FileNotFoundException(rel);
    }

    static bool TorchAvailable()
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo("/usr/bin/python3", "-c \"import torch\"") { RedirectStandardError = true })!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (Exception) { return false; }
    }

    static string RunPython(ITestOutputHelper output, params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        output.WriteLine(stdout + stderr);
        Assert.True(p.ExitCode == 0, $"{args[0]} failed: {stderr}");
        return stdout;
    }

    /// <summary>Same weights, same batch: Frugal's loss and every parameter gradient match PyTorch's (train mode,
    /// so batch norm uses batch statistics). Catches any op whose forward or backward departs from PyTorch.</summary>
    [Theory]
    [InlineData("mlp", 64)]
    [InlineData("cnn", 8)]
    [InlineData("lenet", 0)]
    [InlineData("resnet", 8)]
    public void Loss_and_gradients_match_pytorch(string model, int size)
    {
        Assert.True(TorchAvailable(), "PyTorch is not importable by /usr/bin/python3: apt-get install python3-torch");
        Directory.CreateDirectory(_dir);
        var options = model switch { "mlp" => new Frugal.Models.ModelOptions(Hidden: [size]), "lenet" => new(), "resnet" => new(Width: size, Depth: 1), _ => new(Width: size) };
        var m = Frugal.Models.ModelZoo.Build(model, options, seed: 4);
        var g = new Frugal.Tensors.Generator(9);
        var x = Frugal.Tensors.Tensor.Randn(new Frugal.Tensors.Shape(16, 1, 28, 28), g);
        var y = Enumerable.Range(0, 16).Select(_ => g.NextInt(10)).ToArray();
        string Path_(string f) => Path.Combine(_dir, f);
        Frugal.Checkpoints.SafeTensors.Save(Path_("w.safetensors"), m.StateDict(), isInt64: RunFolder.IsInt64);
        Frugal.Checkpoints.SafeTensors.Save(Path_("b.safetensors"), [("x", x), ("y", Frugal.Tensors.Tensor.FromArray(y.Select(v => (float)v).ToArray(), 16))]);
        var loss = Frugal.Ops.Losses.CrossEntropy(m.Call(x), y);
        loss.Backward();
        Frugal.Checkpoints.SafeTensors.Save(Path_("g.safetensors"), m.NamedParameters().Select(p => (p.Name, p.Parameter.Grad!)).Append(("loss", loss.Detach())));
        var stdout = RunPython(output, RepoFile("bench/reference/grad_parity.py"), model, size.ToString(), Path_("w.safetensors"), Path_("b.safetensors"), Path_("g.safetensors"));
        double diff = double.Parse(stdout.Trim().Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(diff < 1e-3, $"{model}: largest relative difference to PyTorch {diff:G3}");
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]
    [InlineData("resnet")]
    public void Pytorch_loads_the_checkpoint_and_matches_accuracy(string model)
    {
        // python3-torch is installed by .ci/run; without it this check cannot run here.
        Assert.True(TorchAvailable(), "PyTorch is not importable by /usr/bin/python3: apt-get install python3-torch");
        bool real = Directory.Exists(FashionMnist.DefaultDirectory);
        var (train, test) = real ? FashionMnist.Load() : (SyntheticImages.Make(512, 4, 1), SyntheticImages.Make(300, 4, 2));
        string dataDir = real ? FashionMnist.DefaultDirectory : SyntheticImages.WriteIdxFolder(Path.Combine(_dir, "data"), train, test);
        var opts = new TrainOptions
        {
            Model = model, Epochs = 1, BatchSize = 64, TrainLimit = 1024, TestLimit = 1000, Out = _dir, Seed = 1,
            ModelOptions = model switch { "mlp" => new(Hidden: [64]), "cnn" => new(Width: 8), _ => new(Width: 8, Depth: 1) },
        };
        var m = Recipe.Fit(opts, train, test)[0];
        var hidden = model == "mlp" ? "64" : "8";
        var stdout = RunPython(output, RepoFile("bench/reference/eval_checkpoint.py"), model, Path.Combine(_dir, "model.safetensors"), dataDir, "1000", hidden);
        double torchAcc = double.Parse(stdout.Trim().Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine($"frugal {m.TestAccuracy:F4}, pytorch {torchAcc:F4}");
        // Same weights, same data: predictions differ only where float rounding flips a near-tie.
        Assert.True(Math.Abs(torchAcc - m.TestAccuracy) <= 0.002, $"frugal {m.TestAccuracy}, pytorch {torchAcc}");
    }
}
