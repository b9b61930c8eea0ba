namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// A family of kernels compiled together by NVRTC: a name (for messages and the file name NVRTC reports) and the
/// full CUDA C source, prelude included. Its kernel signatures and struct sizes are parsed once.
/// </summary>
public sealed class KernelModule
{
    public string Name { get; }
    public string Source { get; }
    public IReadOnlyDictionary<string, KernelSignature> Kernels { get; }
    public IReadOnlyDictionary<string, int> StructSizes { get; }

    public KernelModule(string name, string body)
    {
        Name = name;
        Source = KernelPrelude.Text + body;
        Kernels = KernelSignatures.Parse(Source).ToDictionary(k => k.Name);
        StructSizes = KernelSignatures.StructSizes(Source);
    }

    public KernelSignature Signature(string kernel) =>
        Kernels.TryGetValue(kernel, out var s) ? s : throw new ArgumentException($"cuda: module {Name} has no kernel {kernel}");
}
