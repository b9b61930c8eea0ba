using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Frugal.Checkpoints;
using Frugal.Runs;
using Xunit.Abstractions;
using static Frugal.Tests.Checkpoints.CheckpointFiles;

namespace Frugal.Tests.Checkpoints;

/// <summary>
/// Issue 11: a real checkpoint, mutated a few hundred seeded ways (bit flips, overwrites, truncations, insertions,
/// deletions, header-length and header-JSON edits), must either load or be refused with an InvalidDataException
/// that names the file, from SafeTensors.Load, RunFolder.LoadCheckpoint and Checkpointing.Load alike.
/// </summary>
public sealed partial class CheckpointFuzzTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("frugal-fuzz-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const int Mutations = 400;

    [Fact]
    public void Mutated_checkpoints_load_or_are_refused_naming_the_file()
    {
        var (folder, _, _) = Write(_dir);
        var path = folder.CheckpointPath;
        var original = File.ReadAllBytes(path);
        var rng = new Random(1111);
        var counts = new SortedDictionary<string, int>();
        var failures = new List<string>();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Mutations; i++)
        {
            var (kind, bytes) = Mutate(original, rng);
            File.WriteAllBytes(path, bytes);
            foreach (var (loader, load) in new (string, Action)[]
            {
                ("safetensors", () => SafeTensors.Load(path)),
                ("resume", () => Assert.NotNull(folder.LoadCheckpoint(Model(seed: 7), Sgd(Model(seed: 7))))),
                ("eval", () => Checkpointing.Load(path, "mlp", new Models.ModelOptions(Hidden: [8]))),
            })
            {
                string outcome;
                try { load(); outcome = "loaded"; }
                catch (InvalidDataException e) when (e.Message.Contains(path, StringComparison.Ordinal)) { outcome = "refused"; }
                catch (Exception e)
                {
                    outcome = "WRONG";
                    failures.Add($"#{i} {kind} via {loader}: {e.GetType().Name}: {e.Message}");
                }
                counts[$"{loader,-11} {kind,-13} {outcome}"] = counts.GetValueOrDefault($"{loader,-11} {kind,-13} {outcome}") + 1;
            }
        }
        output.WriteLine($"{Mutations} mutations of a {original.Length}-byte checkpoint, 3 loaders each, in {sw.Elapsed.TotalSeconds:F1} s");
        foreach (var (k, c) in counts) output.WriteLine($"{k} {c,4}");
        foreach (var loader in new[] { "safetensors", "resume", "eval" })
            foreach (var outcome in new[] { "loaded", "refused", "WRONG" })
                output.WriteLine($"{loader} {outcome}: {counts.Where(p => p.Key.StartsWith(loader + " ", StringComparison.Ordinal) && p.Key.EndsWith(outcome, StringComparison.Ordinal)).Sum(p => p.Value)}");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        // Both outcomes must occur, or the mutations are not reaching the checks.
        Assert.Contains(counts, p => p.Key.StartsWith("resume ", StringComparison.Ordinal) && p.Key.EndsWith("loaded", StringComparison.Ordinal));
        Assert.Contains(counts, p => p.Key.StartsWith("resume ", StringComparison.Ordinal) && p.Key.EndsWith("refused", StringComparison.Ordinal));
    }

    static readonly string[] Kinds = ["bit-flip", "overwrite", "truncate", "insert", "delete", "header-length", "json-number", "json-string", "json-char"];

    static readonly string[] Strings =
    [
        "F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3", "", "dtype", "shape", "data_offsets", "__metadata__",
        "model.1.weight", "model.3.bias", "optimizer.step", "foo.bar", "epoch", "generator", "format",
        "frugal-checkpoint-2", "0,0,0,0", "1,2,3", "-1", "0", "99999999999", "NaN", "1,2,3,4",
    ];

    static readonly string[] Numbers = ["0", "-1", "1", "7", "8", "1.5", "1e30", "-0", "4294967296", "9223372036854775807", "99999999999999999999999", "null", "\"8\"", "[]"];

    /// <summary>One seeded mutation; header edits keep the length field consistent so they reach the JSON checks.</summary>
    static (string Kind, byte[] Bytes) Mutate(byte[] original, Random rng)
    {
        var kind = Kinds[rng.Next(Kinds.Length)];
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(original);
        var b = (byte[])original.Clone();
        // Half of the byte-level edits land in the first 8 + n bytes (length and header), where the parsing is.
        int At(int length) => rng.Next(2) == 0 ? rng.Next(Math.Min(length, 8 + n)) : rng.Next(length);
        switch (kind)
        {
            case "bit-flip":
                for (int k = rng.Next(1, 4); k > 0; k--) { int at = At(b.Length); b[at] ^= (byte)(1 << rng.Next(8)); }
                return (kind, b);
            case "overwrite":
            {
                int at = At(b.Length), len = Math.Min(rng.Next(1, 9), b.Length - at);
                rng.NextBytes(b.AsSpan(at, len));
                return (kind, b);
            }
            case "truncate": return (kind, b[..rng.Next(b.Length)]);
            case "insert":
            {
                int at = At(b.Length);
                var extra = new byte[rng.Next(1, 17)];
                rng.NextBytes(extra);
                return (kind, [.. b[..at], .. extra, .. b[at..]]);
            }
            case "delete":
            {
                int at = At(b.Length), len = Math.Min(rng.Next(1, 17), b.Length - at);
                return (kind, [.. b[..at], .. b[(at + len)..]]);
            }
            case "header-length":
            {
                ulong[] lengths = [0, 1, 7, (ulong)n - 8, (ulong)n - 1, (ulong)n + 1, (ulong)n + 8, (ulong)b.Length, 100_000_001, ulong.MaxValue, (ulong)rng.NextInt64()];
                BinaryPrimitives.WriteUInt64LittleEndian(b, lengths[rng.Next(lengths.Length)]);
                return (kind, b);
            }
        }
        var header = Encoding.UTF8.GetString(b, 8, n).TrimEnd(' ');
        var data = b[(8 + n)..];
        switch (kind)
        {
            case "json-number": header = ReplaceOne(header, NumberToken(), Numbers[rng.Next(Numbers.Length)], rng); break;
            case "json-string": header = ReplaceOne(header, StringToken(), "\"" + Strings[rng.Next(Strings.Length)] + "\"", rng); break;
            default:
            {
                // Delete, duplicate or replace one structural character.
                var marks = StructureToken().Matches(header);
                var m = marks[rng.Next(marks.Count)];
                string[] with = ["", m.Value + m.Value, "{", "}", "[", "]", ",", ":", "\""];
                header = header[..m.Index] + with[rng.Next(with.Length)] + header[(m.Index + 1)..];
                break;
            }
        }
        return (kind, Bytes(header, data));
    }

    static string ReplaceOne(string s, Regex token, string with, Random rng)
    {
        var ms = token.Matches(s);
        var m = ms[rng.Next(ms.Count)];
        return s[..m.Index] + with + s[(m.Index + m.Length)..];
    }

    [GeneratedRegex(@"-?\d+")] private static partial Regex NumberToken();
    [GeneratedRegex("\"[^\"]*\"")] private static partial Regex StringToken();
    [GeneratedRegex(@"[{}\[\],:]")] private static partial Regex StructureToken();
}
