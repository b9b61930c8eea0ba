using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using Frugal.Models;
using Frugal.Nn;
using Frugal.Ops;
using Frugal.Optim;
using Frugal.Tensors;
using Frugal.Training;

namespace Frugal.Tests.Checkpoints;

/// <summary>
/// A tiny real checkpoint (an 8-wide MLP and a momentum SGD that has taken one step, so it has state), written by
/// RunFolder.SaveCheckpoint, and a raw reader/writer that edits its entries without the code under test.
/// </summary>
static class CheckpointFiles
{
    public static readonly ulong[] GeneratorState = [11, 22, 33, 44];

    public static Module Model(ulong seed = 1) => ModelZoo.Build("mlp", new ModelOptions(Hidden: [8]), seed);

    public static Optimizer Sgd(Module m) => new Sgd(m.Parameters(), learningRate: 0.1, momentum: 0.9);

    public static void Step(Module m, Optimizer o)
    {
        var x = Tensor.Randn(new Shape(4, 1, 28, 28), new global::Frugal.Tensors.Generator(5));
        var loss = m.Call(x).CrossEntropy([0, 1, 2, 3]);
        o.ZeroGrad();
        loss.Backward();
        o.Step();
    }

    /// <summary>Writes the checkpoint (after epoch 1) into <paramref name="dir"/>; returns the folder and what was saved.</summary>
    public static (RunFolder Folder, Module Model, Optimizer Optimizer) Write(string dir)
    {
        var m = Model();
        var o = Sgd(m);
        Step(m, o);
        var folder = new RunFolder(dir);
        folder.SaveCheckpoint(m, o, 1, GeneratorState);
        return (folder, m, o);
    }

    /// <summary>Every value of a state dict, for "unchanged by a refused load" checks.</summary>
    public static float[][] Snapshot(IEnumerable<(string Key, Tensor Value)> state) => [.. state.Select(p => p.Value.ToArray())];

    public sealed record Entry(string Name, string Dtype, int[] Shape, byte[] Data);

    /// <summary>The entries (in data order) and metadata of a safetensors file, read with System.Text.Json only.</summary>
    public static (List<Entry> Entries, Dictionary<string, string> Metadata) Read(string file)
    {
        var bytes = File.ReadAllBytes(file);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = JsonNode.Parse(bytes.AsSpan(8, n))!.AsObject();
        var meta = new Dictionary<string, string>();
        var entries = new List<(long Begin, Entry E)>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node!.AsObject()) meta[k] = v!.GetValue<string>();
                continue;
            }
            var off = node!["data_offsets"]!.AsArray();
            long begin = off[0]!.GetValue<long>(), end = off[1]!.GetValue<long>();
            entries.Add((begin, new Entry(name, node["dtype"]!.GetValue<string>(),
                [.. node["shape"]!.AsArray().Select(d => d!.GetValue<int>())],
                bytes.AsSpan(8 + n + (int)begin, (int)(end - begin)).ToArray())));
        }
        return ([.. entries.OrderBy(e => e.Begin).Select(e => e.E)], meta);
    }

    /// <summary>Writes entries back to back (offsets recomputed) with the metadata; null metadata writes none.</summary>
    public static void Write(string file, IEnumerable<Entry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var header = new JsonObject();
        if (metadata != null)
        {
            var m = new JsonObject();
            foreach (var (k, v) in metadata) m[k] = v;
            header["__metadata__"] = m;
        }
        var data = new MemoryStream();
        foreach (var e in entries)
        {
            header[e.Name] = new JsonObject
            {
                ["dtype"] = e.Dtype,
                ["shape"] = new JsonArray([.. e.Shape.Select(d => (JsonNode)d)]),
                ["data_offsets"] = new JsonArray(data.Length, data.Length + e.Data.Length),
            };
            data.Write(e.Data);
        }
        WriteRaw(file, header.ToJsonString(), data.ToArray());
    }

    /// <summary>A file from a header string and a data buffer, the header space-padded to 8 bytes as the spec asks.</summary>
    public static void WriteRaw(string file, string json, byte[] data) => File.WriteAllBytes(file, Bytes(json, data));

    public static byte[] Bytes(string json, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(json);
        int padded = (h.Length + 7) / 8 * 8;
        var bytes = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)padded);
        h.CopyTo(bytes, 8);
        bytes.AsSpan(8 + h.Length, padded - h.Length).Fill((byte)' ');
        data.CopyTo(bytes, 8 + padded);
        return bytes;
    }

    /// <summary>Rewrites <paramref name="file"/> after <paramref name="edit"/> changes its entries and metadata in place.</summary>
    public static void Edit(string file, Action<List<Entry>, Dictionary<string, string>> edit)
    {
        var (entries, meta) = Read(file);
        edit(entries, meta);
        Write(file, entries, meta);
    }

    public static byte[] Floats(params float[] v)
    {
        var b = new byte[4 * v.Length];
        for (int i = 0; i < v.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(4 * i), v[i]);
        return b;
    }
}
