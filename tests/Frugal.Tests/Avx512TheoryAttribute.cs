using System.Runtime.Intrinsics.X86;

namespace Frugal.Tests;

/// <summary>A test of an AVX-512 kernel against its scalar twin: skipped, with that reason, where the CPU (or
/// DOTNET_EnableAVX512=0) leaves only the scalar one.</summary>
public sealed class Avx512TheoryAttribute : TheoryAttribute
{
    public Avx512TheoryAttribute()
    {
        if (!Avx512F.IsSupported) Skip = "no AVX-512 here (or DOTNET_EnableAVX512=0): only the scalar kernel runs";
    }
}
