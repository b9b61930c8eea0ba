using System.Runtime.InteropServices;

namespace Frugal.Backends.Cuda.Kernels;

/// <summary>
/// Host mirrors of the prelude's structs, passed to kernels by value. Field order and count must match
/// <see cref="KernelPrelude"/> (a test compares the sizes parsed from the CUDA source with these).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct FrDims
{
    public const int MaxRank = 8;
    public int Rank;
    public fixed int Dim[MaxRank];
    public fixed int A[MaxRank];
    public fixed int B[MaxRank];

    /// <summary>Dims and two stride vectors (elements; 0 = broadcast); throws when the rank exceeds <see cref="MaxRank"/>.</summary>
    public static FrDims Create(string op, ReadOnlySpan<int> dims, ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        if (dims.Length > MaxRank)
            throw new NotSupportedException($"{op}: rank {dims.Length} exceeds the CUDA backend's limit of {MaxRank}");
        var d = new FrDims { Rank = dims.Length };
        for (int i = 0; i < dims.Length; i++)
        {
            d.Dim[i] = dims[i];
            d.A[i] = i < a.Length ? a[i] : 0;
            d.B[i] = i < b.Length ? b[i] : 0;
        }
        return d;
    }
}

/// <summary>A <see cref="Window2d"/> with its output extent, as the conv and pooling kernels read it.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FrWin
{
    public int H, W, Kh, Kw, Sh, Sw, Ph, Pw, Dh, Dw, Oh, Ow;

    public static FrWin From(Window2d w) => new()
    {
        H = w.Height, W = w.Width, Kh = w.KernelH, Kw = w.KernelW, Sh = w.StrideH, Sw = w.StrideW,
        Ph = w.PadH, Pw = w.PadW, Dh = w.DilationH, Dw = w.DilationW, Oh = w.OutH, Ow = w.OutW,
    };
}
