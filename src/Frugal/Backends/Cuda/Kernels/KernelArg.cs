using System.Runtime.CompilerServices;

namespace Frugal.Backends.Cuda.Kernels;

/// <summary>The C type class of a kernel parameter.</summary>
public enum KernelArgKind { Pointer, Int, Int64, Float, Double, Struct }

/// <summary>
/// One kernel argument by value: a device pointer, a scalar, or a small struct (shape metadata). Implicit conversions
/// from int, float, double and ulong (a device address) keep launch sites short; anything else (bool, long) must be
/// converted on purpose, since a wrong-sized argument would be read as garbage by the kernel.
/// </summary>
public readonly struct KernelArg
{
    public KernelArgKind Kind { get; }
    readonly ulong _bits;
    readonly byte[]? _blob;

    KernelArg(KernelArgKind kind, ulong bits, byte[]? blob = null) { Kind = kind; _bits = bits; _blob = blob; }

    public static KernelArg Pointer(ulong address) => new(KernelArgKind.Pointer, address);
    public static KernelArg Int(int v) => new(KernelArgKind.Int, (uint)v);
    public static KernelArg Int64(long v) => new(KernelArgKind.Int64, (ulong)v);
    public static KernelArg Float(float v) => new(KernelArgKind.Float, BitConverter.SingleToUInt32Bits(v));
    public static KernelArg Double(double v) => new(KernelArgKind.Double, BitConverter.DoubleToUInt64Bits(v));
    public static KernelArg Flag(bool v) => Int(v ? 1 : 0);

    public static unsafe KernelArg Struct<T>(in T value) where T : unmanaged
    {
        var b = new byte[sizeof(T)];
        Unsafe.WriteUnaligned(ref b[0], value);
        return new(KernelArgKind.Struct, 0, b);
    }

    public static implicit operator KernelArg(int v) => Int(v);
    public static implicit operator KernelArg(float v) => Float(v);
    public static implicit operator KernelArg(double v) => Double(v);
    public static implicit operator KernelArg(ulong address) => Pointer(address);

    /// <summary>Bytes the argument occupies in the parameter buffer, and its alignment.</summary>
    public int Size => Kind switch
    {
        KernelArgKind.Int or KernelArgKind.Float => 4,
        KernelArgKind.Struct => _blob!.Length,
        _ => 8,
    };

    public int Alignment => Kind == KernelArgKind.Struct ? 4 : Size;

    /// <summary>Writes the value at <paramref name="destination"/>[0..Size).</summary>
    public void WriteTo(Span<byte> destination)
    {
        switch (Kind)
        {
            case KernelArgKind.Struct: _blob.CopyTo(destination); break;
            case KernelArgKind.Int or KernelArgKind.Float: BitConverter.TryWriteBytes(destination, (uint)_bits); break;
            default: BitConverter.TryWriteBytes(destination, _bits); break;
        }
    }

    public override string ToString() => Kind switch
    {
        KernelArgKind.Pointer => $"0x{_bits:x}",
        KernelArgKind.Int => ((int)(uint)_bits).ToString(),
        KernelArgKind.Int64 => ((long)_bits).ToString(),
        KernelArgKind.Float => BitConverter.UInt32BitsToSingle((uint)_bits).ToString("G9"),
        KernelArgKind.Double => BitConverter.UInt64BitsToDouble(_bits).ToString("G17"),
        _ => $"struct[{_blob!.Length}]",
    };
}

/// <summary>
/// Packs kernel arguments for cuLaunchKernel, whose kernelParams is an array of pointers, one per parameter, each to
/// that parameter's value: the values go into one buffer at naturally aligned offsets.
/// </summary>
public static class KernelArgPacker
{
    /// <summary>The buffer of values and each argument's offset in it.</summary>
    public static (byte[] Buffer, int[] Offsets) Pack(ReadOnlySpan<KernelArg> args)
    {
        var offsets = new int[args.Length];
        int at = 0;
        for (int i = 0; i < args.Length; i++)
        {
            int a = args[i].Alignment;
            at = (at + a - 1) / a * a;
            offsets[i] = at;
            at += args[i].Size;
        }
        var buffer = new byte[Math.Max(at, 1)];
        for (int i = 0; i < args.Length; i++) args[i].WriteTo(buffer.AsSpan(offsets[i], args[i].Size));
        return (buffer, offsets);
    }
}
