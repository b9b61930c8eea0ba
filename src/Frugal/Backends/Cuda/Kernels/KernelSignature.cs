using System.Text.RegularExpressions;

namespace Frugal.Backends.Cuda.Kernels;

public sealed record KernelParameter(string Type, string Name, KernelArgKind Kind);

/// <summary>
/// A kernel's parameter list, parsed from its CUDA C source. Every launch is checked against it (count, kind and struct
/// size), so a mismatched argument fails on the host with the kernel's name instead of corrupting memory on the GPU.
/// </summary>
public sealed record KernelSignature(string Name, IReadOnlyList<KernelParameter> Parameters)
{
    public override string ToString() => $"{Name}({string.Join(", ", Parameters.Select(p => $"{p.Type} {p.Name}"))})";

    /// <summary>Throws <see cref="ArgumentException"/> if <paramref name="args"/> do not fit this signature.</summary>
    public void Validate(ReadOnlySpan<KernelArg> args, IReadOnlyDictionary<string, int> structSizes)
    {
        if (args.Length != Parameters.Count)
            throw new ArgumentException($"cuda kernel {this}: {args.Length} arguments given for {Parameters.Count} parameters");
        for (int i = 0; i < args.Length; i++)
        {
            var p = Parameters[i];
            if (args[i].Kind != p.Kind)
                throw new ArgumentException($"cuda kernel {this}: argument {i} ({p.Name}) is {args[i].Kind}, the parameter {p.Type}");
            if (p.Kind == KernelArgKind.Struct && (!structSizes.TryGetValue(p.Type, out var size) || size != args[i].Size))
                throw new ArgumentException($"cuda kernel {this}: argument {i} ({p.Name}) has {args[i].Size} bytes, struct {p.Type} has {(structSizes.TryGetValue(p.Type, out var s) ? s : -1)}");
        }
    }
}

/// <summary>Parses the kernel signatures and the int-only structs of CUDA C sources (the subset this backend writes).</summary>
public static partial class KernelSignatures
{
    [GeneratedRegex(@"extern\s+""C""\s+__global__\s+void\s+(\w+)\s*\(([^)]*)\)")]
    private static partial Regex KernelRegex();

    [GeneratedRegex(@"struct\s+(\w+)\s*\{([^}]*)\}\s*;")]
    private static partial Regex StructRegex();

    public static IReadOnlyList<KernelSignature> Parse(string source)
    {
        var structs = StructSizes(source);
        var list = new List<KernelSignature>();
        foreach (Match m in KernelRegex().Matches(source))
        {
            var ps = new List<KernelParameter>();
            foreach (var raw in m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                int cut = raw.LastIndexOfAny([' ', '*']);
                if (cut < 0) throw new FormatException($"kernel {m.Groups[1].Value}: cannot parse parameter '{raw}'");
                var name = raw[(cut + 1)..].Trim();
                var type = Regex.Replace(raw[..(cut + 1)].Trim(), @"\s+", " ");
                ps.Add(new(type, name, KindOf(type, structs, m.Groups[1].Value)));
            }
            list.Add(new(m.Groups[1].Value, ps));
        }
        return list;
    }

    static KernelArgKind KindOf(string type, IReadOnlyDictionary<string, int> structs, string kernel)
    {
        if (type.Contains('*')) return KernelArgKind.Pointer;
        var t = type.Replace("const ", "").Trim();
        return t switch
        {
            "int" or "unsigned" or "unsigned int" => KernelArgKind.Int,
            "long long" or "unsigned long long" => KernelArgKind.Int64,
            "float" => KernelArgKind.Float,
            "double" => KernelArgKind.Double,
            _ when structs.ContainsKey(t) => KernelArgKind.Struct,
            _ => throw new FormatException($"kernel {kernel}: parameter type '{type}' is not supported by the launcher"),
        };
    }

    /// <summary>Sizes in bytes of the structs defined in <paramref name="source"/>, whose fields must all be int (scalars or arrays).</summary>
    public static IReadOnlyDictionary<string, int> StructSizes(string source)
    {
        var sizes = new Dictionary<string, int>();
        foreach (Match m in StructRegex().Matches(source))
        {
            int ints = 0;
            foreach (var decl in m.Groups[2].Value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!decl.StartsWith("int ", StringComparison.Ordinal))
                    throw new FormatException($"struct {m.Groups[1].Value}: only int fields are supported, got '{decl}'");
                foreach (var field in decl[4..].Split(',', StringSplitOptions.TrimEntries))
                {
                    var arr = Regex.Match(field, @"\[(\d+)\]");
                    ints += arr.Success ? int.Parse(arr.Groups[1].Value) : 1;
                }
            }
            sizes[m.Groups[1].Value] = 4 * ints;
        }
        return sizes;
    }
}
